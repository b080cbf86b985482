"""Host names as the transports will send them: checked once, where a URL enters the core,
so a malformed one fails with a library error instead of a raw ``UnicodeError`` at send time."""

from __future__ import annotations

import re

from ..errors import AuthmatechError, ConfigurationError

__all__ = ["check_host", "is_loopback"]

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    import ipaddress  # only plain-http URLs get here

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(host: str, name: str, error: type[AuthmatechError] = ConfigurationError) -> str:
    """``host`` as the transports will send it (an IDN in its ``xn--`` form), or ``error``
    (``ConfigurationError`` by default) naming ``name``."""
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    ascii_host = host
    try:
        ascii_host = host.encode("idna").decode("ascii")
        labels = ascii_host.lower().removesuffix(".").split(".")
        for label in labels:
            if label.startswith("xn--"):
                label.encode("ascii").decode("idna")
    except UnicodeError:
        labels = [""]
    if len(ascii_host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise error(
            f"{name} has an invalid host name: each dot-separated part must be 1 to 63 "
            "letters, digits or hyphens (not starting or ending with a hyphen), e.g. "
            "'service.authmatech.com'"
        )
    return ascii_host
