"""The type checks of the core's entry points: an embedder who passes the wrong object learns
which argument of which function, not an ``AttributeError`` from deep inside."""

from __future__ import annotations

from ..errors import ConfigurationError

__all__ = ["require"]

#: Where the classes the core exports are defined (``core.HttpResponse`` lives outside it).
_CORE_MODULES = ("authmatech.core", "authmatech._received")


def require(where: str, *checks: tuple[object, type, str]) -> None:
    """Raise ``ConfigurationError`` for the first ``(value, kind, name)`` whose value is not a
    ``kind``; ``where`` names the function."""
    for value, kind, name in checks:
        if not isinstance(value, kind):
            prefix = "core." if kind.__module__.startswith(_CORE_MODULES) else ""
            raise ConfigurationError(
                f"{where}'s {name} must be a {prefix}{kind.__name__}, not {type(value).__name__}"
            )
