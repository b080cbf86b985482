"""The sandbox's own configuration error."""

from __future__ import annotations

from ..errors import ConfigurationError

__all__ = ["SandboxConfigurationError"]


class SandboxConfigurationError(ConfigurationError, ValueError):
    """A sandbox, fault or server was configured with a value it cannot use; nothing was
    started. Also a ``ValueError``, as these checks have always been."""
