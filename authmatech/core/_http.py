"""The two values that cross the sans-IO boundary: what to send and what came back.

Transports turn an :class:`HttpRequest` into an :class:`HttpResponse`; nothing else about HTTP
leaks into or out of the core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from .._received import (
    Headers,
    HttpResponse,
    normalize_headers,
    pairs_of,
    plain_headers,
    received,
    request_id_of,
)
from ..errors import ConfigurationError

__all__ = [
    "SECRET_HEADERS",
    "Headers",
    "HttpRequest",
    "HttpResponse",
    "Timeout",
    "mask_headers",
    "normalize_headers",
    "received",
    "request_id_of",
]

#: Header names (lower-case) whose values are credentials and are masked wherever shown.
SECRET_HEADERS = frozenset({"x-api-key", "x-sdk-token", "authorization", "cookie"})


def mask_headers(headers: Headers) -> dict[str, str]:
    """A copy of ``headers`` (in any shape :data:`Headers` allows) as a ``dict``, with
    credential values replaced by ``<masked>``; names keep their case."""
    if plain_headers(headers):
        return {
            name: ("<masked>" if name.lower() in SECRET_HEADERS else value)
            for name, value in headers.items()
        }
    masked: dict[str, str] = {}
    for name, value in pairs_of(headers, "mask_headers"):
        masked[name] = "<masked>" if name.lower() in SECRET_HEADERS else value
    return masked


@attrs.frozen(slots=True, repr=False)
class HttpRequest:
    """A request ready to send: method, absolute URL, headers and an optional JSON body."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None

    def __repr__(self) -> str:
        body = "None" if self.body is None else f"<{len(self.body)} bytes>"
        return (
            f"HttpRequest(method={self.method!r}, url={self.url!r}, "
            f"headers={mask_headers(self.headers)!r}, body={body})"
        )


#: The longest timeout accepted (one day): longer ones are bugs, and far longer ones overflow
#: the event loops' and sockets' clocks.
MAX_TIMEOUT = 86_400


def _positive(name: str) -> Callable[[object, object, float], None]:
    def check(instance: object, attribute: object, value: float) -> None:
        if value is None:
            raise ConfigurationError(
                f"timeout {name} must be a number of seconds; None (no limit) is not allowed, "
                "so that no call can hang forever"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigurationError(f"timeout {name} must be a number of seconds")
        if not 0 < value <= MAX_TIMEOUT:
            raise ConfigurationError(
                f"timeout {name} must be a positive number of seconds, at most {MAX_TIMEOUT:,} "
                "(one day)"
            )

    return check


@attrs.frozen(slots=True, kw_only=True)
class Timeout:
    """Per-phase timeouts plus an overall deadline for one call, retries and sleeps included.

    Every phase is finite by default: an API client that can hang forever is a bug.
    """

    connect: float = attrs.field(default=5.0, validator=_positive("connect"))
    read: float = attrs.field(default=15.0, validator=_positive("read"))
    write: float = attrs.field(default=15.0, validator=_positive("write"))
    pool: float = attrs.field(default=5.0, validator=_positive("pool"))
    total: float = attrs.field(default=60.0, validator=_positive("total"))

    @classmethod
    def of(cls, seconds: float) -> Timeout:
        """Every phase set to ``seconds``; the overall deadline at least as long."""
        phase = cls(connect=seconds, read=seconds, write=seconds, pool=seconds)
        if phase.total >= seconds:
            return phase
        return cls(connect=seconds, read=seconds, write=seconds, pool=seconds, total=seconds)

    def capped(self, remaining: float) -> Timeout:
        """The same phases, none longer than ``remaining`` seconds (the call's deadline)."""
        if isinstance(remaining, bool) or not isinstance(remaining, (int, float)):
            raise ConfigurationError(
                f"remaining must be a number of seconds, not {type(remaining).__name__}"
            )
        if remaining >= max(self.connect, self.read, self.write, self.pool):
            return self
        floor = max(remaining, 0.001)
        return Timeout(
            connect=min(self.connect, floor),
            read=min(self.read, floor),
            write=min(self.write, floor),
            pool=min(self.pool, floor),
            total=self.total,
        )

    def until(self, remaining: float) -> Timeout:
        """The same phases with ``total`` set to ``remaining`` seconds (at least 1 ms): what is
        left of the call's deadline for one attempt, for a transport that enforces it."""
        # Built without the validators (2.5 µs, once per attempt): the phases are already
        # valid and the floor keeps ``total`` positive.
        timeout: Timeout = object.__new__(Timeout)
        put = object.__setattr__
        put(timeout, "connect", self.connect)
        put(timeout, "read", self.read)
        put(timeout, "write", self.write)
        put(timeout, "pool", self.pool)
        put(timeout, "total", max(remaining, 0.001))
        return timeout
