"""Configuration errors that leave no frame holding the raw credentials behind them.

A credential that fails the hygiene checks (quotes from a ``.env`` file, an inner space) is
usually a real key with a copy-paste mistake. The frames the error unwinds through hold it
in the clear (the constructor's ``api_key`` argument, ``os.environ`` in ``from_env``), and
locals renderers (``TracebackException(capture_locals=True)``, ``pytest -l``,
``rich.traceback``, error reporters) would show them. A guarded entry point re-raises the
error from its own frame, which holds nothing but the error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from .errors import ConfigurationError

__all__ = ["frameless_configuration_errors", "without_frames"]

P = ParamSpec("P")
R = TypeVar("R")


def frameless_configuration_errors(function: Callable[P, R]) -> Callable[P, R]:
    """``function``, its ``ConfigurationError`` re-raised without the frames below it (nor
    those of the exceptions chained to it)."""

    @functools.wraps(function)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except ConfigurationError as error:
            del args, kwargs
            raise without_frames(error) from error.__cause__

    return guarded


def without_frames(error: ConfigurationError) -> ConfigurationError:
    """``error`` with no traceback, nor any on the exceptions chained to it: re-raised from a
    frame that holds no raw credential, it shows only that frame and its callers."""
    chained: BaseException | None = error
    seen: set[int] = set()
    while chained is not None and id(chained) not in seen:
        seen.add(id(chained))
        chained.__traceback__ = None
        chained = chained.__cause__ or chained.__context__
    return error
