"""A ``repr`` that never raises, for objects whose constructor can fail half-way.

A constructor that raises leaves its ``self`` half built, and that ``self`` is a local of the
failing frame: ``traceback.TracebackException(capture_locals=True)`` (Python 3.10-3.12),
``rich.traceback`` and error reporters call ``repr`` on it. A generated repr that reads a field
never set raises ``AttributeError`` there, which turns the user's error report into a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

__all__ = ["tolerant_repr"]

ClassT = TypeVar("ClassT", bound=type)


def tolerant_repr(cls: ClassT) -> ClassT:
    """Wrap ``cls.__repr__`` so that a half-built instance reads ``<Name (incomplete)>``."""
    inner = cast("Callable[[object], str]", cls.__repr__)

    def __repr__(self: object) -> str:
        try:
            return inner(self)
        except Exception:
            return f"<{type(self).__name__} (incomplete)>"

    __repr__.__doc__ = inner.__doc__
    setattr(cls, "__repr__", __repr__)  # noqa: B010 (mypy refuses to assign a method)
    return cls
