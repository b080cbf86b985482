"""The two values that cross the sans-IO boundary: what to send and what came back.

Transports turn an :class:`HttpRequest` into an :class:`HttpResponse`; nothing else about HTTP
leaks into or out of the core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from .._mask import redact_secrets, redact_text
from .._received import (
    Headers,
    HttpResponse,
    normalize_headers,
    pairs_of,
    plain_headers,
    received,
    request_id_of,
)
from .._repr import tolerant_repr
from ..credentials import Secret
from ..errors import ConfigurationError, RequestValidationError
from ._http_checks import (
    check_body,
    check_headers,
    check_method,
    check_sealed_body,
    check_secrets,
    check_url,
)

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


def _seal_headers(headers: Mapping[str, str | Secret]) -> tuple[dict[str, str], dict[str, Secret]]:
    plain: dict[str, str] = {}
    sealed: dict[str, Secret] = {}
    for name, value in headers.items():
        if isinstance(value, Secret):
            sealed[name] = value
        elif name.lower() in SECRET_HEADERS:
            sealed[name] = Secret(value)
        else:
            plain[name] = value
    return plain, sealed


@tolerant_repr
@attrs.frozen(slots=True, init=False, repr=False)
class HttpRequest:
    """A request ready to send: method, absolute URL, headers and an optional JSON body.

    The credentials in it stay sealed: credential headers (``X-API-KEY``, ``X-SDK-TOKEN``,
    ``Authorization``, ``Cookie``) and a body that carries a secret (the client secret of a
    rotation, a Connect integration's key) are kept as :class:`~authmatech.Secret` values, so
    ``repr``, ``rich``, ``attrs.asdict``, debuggers, traceback locals and ``pickle`` (which
    refuses) never show them. :attr:`headers` and :attr:`body` show fingerprints in their
    place; a transport calls :meth:`reveal_headers` and :meth:`reveal_body` at the last moment,
    inside the call to its HTTP library, and keeps neither in a variable.

    Every part is checked, so that what an HTTP library cannot send fails here with a
    :class:`~authmatech.RequestValidationError` naming it: ``method`` an HTTP token such as
    ``"GET"``; ``url`` an absolute ``http://`` or ``https://`` URL with a valid host;
    ``headers`` a mapping of token names to ``str`` or :class:`~authmatech.Secret` values in
    printable ASCII (no line breaks), no name given twice; ``body`` ``bytes``, ``bytearray``,
    ``memoryview`` (kept as ``bytes``) or ``None``.
    """

    method: str
    url: str
    _plain: Mapping[str, str]
    _sealed: Mapping[str, Secret]
    _body: bytes | None
    _sealed_body: Secret | None
    _carried: tuple[Secret, ...]

    def __init__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str | Secret],
        body: bytes | bytearray | memoryview | None = None,
    ) -> None:
        """Check every part (see the class docstring); credential headers given as ``str``
        are sealed here."""
        where = "HttpRequest"
        plain, sealed = _seal_headers(check_headers(headers, where))
        assembled(
            check_method(method, where),
            check_url(url, where),
            plain,
            sealed,
            check_body(body, where),
            None,
            into=self,
        )

    @classmethod
    def sealed(
        cls,
        method: str,
        url: str,
        headers: Mapping[str, str],
        secrets: Mapping[str, Secret],
        body: bytes | None = None,
        sealed_body: SealedBody | None = None,
    ) -> HttpRequest:
        """A request whose credential headers are ``secrets`` and, if given, whose body is
        ``sealed_body``: ``(the JSON text as a Secret, what to show instead, the secrets in
        it)``. Every part is checked as for the constructor; a credential header among
        ``headers`` is sealed too."""
        where = "HttpRequest.sealed"
        plain, found = _seal_headers(check_headers(headers, where, secrets_allowed=False))
        names = [*plain, *found, *check_secrets(secrets, where)]
        if len({name.lower() for name in names}) != len(names):
            raise RequestValidationError(f"{where}: a header is given both in headers and secrets")
        return assembled(
            check_method(method, where),
            check_url(url, where),
            plain,
            {**found, **secrets},
            check_body(body, where),
            check_sealed_body(sealed_body, where),
        )

    @property
    def headers(self) -> Mapping[str, str]:
        """Every header, credential values shown as ``<masked sha256:...>`` (safe to log)."""
        return {
            **self._plain,
            **{name: f"<masked {secret.fingerprint}>" for name, secret in self._sealed.items()},
        }

    @property
    def body(self) -> bytes | None:
        """The body, with any secret in it shown as its fingerprint (safe to log)."""
        return self._body

    def reveal_headers(self) -> dict[str, str]:
        """Every header with its real value, credentials included: what goes on the wire."""
        if not self._sealed:
            return dict(self._plain)
        return {
            **self._plain,
            **{name: secret.reveal() for name, secret in self._sealed.items()},
        }

    def reveal_body(self) -> bytes | None:
        """The body as it goes on the wire, secrets included."""
        sealed = self._sealed_body
        return self._body if sealed is None else sealed.reveal().encode()

    @property
    def secrets(self) -> tuple[Secret, ...]:
        """Every secret this request carries (in headers or body), to scrub from what comes
        back: a server or proxy that echoes the request must not put them in an error."""
        return self._carried

    def redact(self, text: str) -> str:
        """``text`` with every secret this request carries replaced by its fingerprint and
        phone numbers masked: for messages quoting what an HTTP library or a server said."""
        if not isinstance(text, str):
            raise RequestValidationError(
                f"HttpRequest.redact takes a str, not {type(text).__name__}"
            )
        return redact_secrets(text, self._carried)

    def __repr__(self) -> str:
        body = "None" if self._body is None else f"<{len(self._body)} bytes>"
        return (
            f"HttpRequest(method={self.method!r}, url={redact_text(self.url)!r}, "
            f"headers={self.headers!r}, body={body})"
        )


SealedBody = tuple[Secret, bytes, tuple[Secret, ...]]


def assembled(
    method: str,
    url: str,
    headers: Mapping[str, str],
    secrets: Mapping[str, Secret],
    body: bytes | None,
    sealed_body: SealedBody | None,
    into: HttpRequest | None = None,
) -> HttpRequest:
    """:meth:`HttpRequest.sealed` without its checks (or, given ``into``, the constructor's
    last step): what ``Call.build`` makes once per attempt from parts valid by construction;
    nothing is copied, hashed or checked again."""
    request: HttpRequest = object.__new__(HttpRequest) if into is None else into
    put = object.__setattr__
    put(request, "method", method)
    put(request, "url", url)
    put(request, "_plain", headers)
    put(request, "_sealed", secrets)
    carried = tuple(secrets.values())
    if sealed_body is None:
        put(request, "_body", body)
        put(request, "_sealed_body", None)
    else:
        put(request, "_body", sealed_body[1])
        put(request, "_sealed_body", sealed_body[0])
        carried += sealed_body[2]
    put(request, "_carried", carried)
    return request


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
        _check_remaining(remaining, "capped")
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
        _check_remaining(remaining, "until")
        # Built without the validators (2.5 µs, once per attempt): the phases are already
        # valid, and the floor and the cap keep ``total`` in range.
        timeout: Timeout = object.__new__(Timeout)
        put = object.__setattr__
        put(timeout, "connect", self.connect)
        put(timeout, "read", self.read)
        put(timeout, "write", self.write)
        put(timeout, "pool", self.pool)
        put(timeout, "total", min(max(remaining, 0.001), MAX_TIMEOUT))
        return timeout


def _check_remaining(remaining: object, where: str) -> None:
    if (
        isinstance(remaining, bool)
        or not isinstance(remaining, (int, float))
        or remaining != remaining  # NaN
    ):
        raise ConfigurationError(
            f"Timeout.{where}'s remaining must be a number of seconds, not "
            f"{'NaN' if isinstance(remaining, float) else type(remaining).__name__}"
        )
