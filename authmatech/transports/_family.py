"""The httpx family of HTTP libraries: ``httpx`` and its maintained fork ``httpx2``.

The two have the same shape (``Client``, ``AsyncClient``, ``Limits``, ``Timeout`` and the same
exception names) but are distinct modules: ``isinstance(httpx2.Client(), httpx.Client)`` is
false and their exceptions are unrelated. A :class:`Family` holds one of them, its httpcore
(``httpcore`` or ``httpcore2``) and the tables the transports need, so that one piece of
transport code serves both. Nothing here imports either library until a family is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any, Literal

from ..errors import ConfigurationError
from ._common import Failure

__all__ = ["FAMILIES", "Family", "FamilyName", "family_named", "family_of"]

FamilyName = Literal["httpx", "httpx2"]
#: The family names, with the module each stands for and the httpcore it runs on.
FAMILIES: dict[str, tuple[str, str]] = {
    "httpx": ("httpx", "httpcore"),
    "httpx2": ("httpx2", "httpcore2"),
}


class Family:
    """One library of the family, loaded: its module, its httpcore, and how its failures read."""

    __slots__ = ("core", "errors", "failures", "module", "name")

    def __init__(self, name: str, module: Any, core: Any) -> None:
        self.name = name
        self.module = module
        self.core = core
        x = module
        self.failures = (
            Failure(x.ConnectTimeout, "connect to {host} timed out", False, timeout=True),
            Failure(x.PoolTimeout, "no free connection to {host} in time", False, timeout=True),
            Failure(x.ReadTimeout, "{host} did not respond in time", True, timeout=True),
            Failure(x.WriteTimeout, "sending to {host} timed out", True, timeout=True),
            Failure(x.TimeoutException, "request to {host} timed out", True, timeout=True),
            Failure(x.ConnectError, "could not connect to {host}", False),
            Failure(x.ProxyError, "proxy could not reach {host}", False),
            Failure(x.ReadError, "connection to {host} broke while reading", True),
            Failure(x.WriteError, "connection to {host} broke while sending", True),
            Failure(x.RemoteProtocolError, "{host} closed the connection or broke HTTP", True),
        )
        #: What a send maps; anything else (cancellation included) propagates untouched.
        self.errors: tuple[type[BaseException], ...] = (x.HTTPError, x.InvalidURL)


def _missing(name: str) -> ConfigurationError:
    return ConfigurationError(
        f'the {name} transport family needs {name}: pip install "authmatech[{name}]"'
        + (" (httpx2 needs Python 3.10 or later)" if name == "httpx2" else "")
    )


def family_named(name: object) -> Family:
    """The family called ``name`` (``"httpx"`` or ``"httpx2"``), imported now."""
    if not isinstance(name, str) or name not in FAMILIES:
        raise ConfigurationError(f"http_family must be 'httpx' or 'httpx2', not {name!r}")
    module_name, core_name = FAMILIES[name]
    try:
        module = importlib.import_module(module_name)
        core = importlib.import_module(core_name)
    except ModuleNotFoundError as exc:
        if exc.name not in (module_name, core_name):
            raise
        raise _missing(name) from None
    return Family(name, module, core)


def family_of(client: object) -> Family | None:
    """The family whose module defines ``client``'s class (or a base of it), else ``None``.
    Only a family already imported can have made ``client``, so nothing is imported here."""
    import sys

    for cls in type(client).__mro__:
        top = cls.__module__.partition(".")[0]
        if top in FAMILIES and top in sys.modules:
            return family_named(top)
    return None
