"""Building requests: a :class:`Call` plus credentials and a :class:`ClientConfig` make an
:class:`~authmatech.core.HttpRequest`.

The credential-scope rules are enforced here, before anything can be sent:

* the API key (with ``X-CLIENT-ID``) for every server API;
* the SDK token (with ``X-CLIENT-ID``) for ``POST /v1/api/sdk/session`` only, and never
  together with ``X-API-KEY``;
* the client secret only as ``secretKey`` in the body of key rotation and generation.
"""

from __future__ import annotations

import json
import json.encoder
import sys
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import attrs

from .._repr import tolerant_repr
from .._version import __version__
from ..credentials import Credentials, Secret
from ..errors import (
    AuthmatechError,
    ConfigurationError,
    CredentialScopeError,
    KeyResponseError,
    RequestValidationError,
)
from ._checks import require
from ._hosts import check_host, is_loopback
from ._http import HttpRequest, HttpResponse, assembled
from ._operations import Auth, Operation
from ._response import parse_response
from ._scrub import scrub_error, scrub_response

__all__ = ["DEFAULT_BASE_URL", "Call", "ClientConfig", "check_base_url", "prepared_call"]

T = TypeVar("T")

DEFAULT_BASE_URL = "https://service.authmatech.com"


def check_base_url(value: object, name: str = "base_url") -> str:
    """``value`` as a usable base URL (scheme and host, optionally a path prefix for a gateway),
    or ``ConfigurationError`` naming ``name`` (the argument or the environment variable)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name} must be a non-empty str such as {DEFAULT_BASE_URL!r}")
    url = value.strip()
    if len(url) >= 2 and url[0] == url[-1] and url[0] in "\"'`":
        raise ConfigurationError(
            f"{name} is wrapped in quotes; remove them (the value must contain only the URL, "
            f"e.g. {DEFAULT_BASE_URL})"
        )
    url = url.rstrip("/")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"{name} is not a valid URL ({exc})") from None
    if port == 0:
        raise ConfigurationError(f"{name} has port 0; a port is 1 to 65535")
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigurationError(
            f"{name} must look like {DEFAULT_BASE_URL!r}: an https:// URL with a host"
        )
    if parts.username or parts.password:
        raise ConfigurationError(
            f"{name} must not carry user info; credentials travel only in headers"
        )
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ConfigurationError(f"{name} must not have a query string or fragment")
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigurationError(
            f"{name} must use https:// (plain http is allowed only for a loopback host such "
            "as localhost or 127.0.0.1, e.g. the sandbox)"
        )
    segments = [segment.lower() for segment in parts.path.split("/")]
    if "v1" in segments or any(not segment.isprintable() or " " in segment for segment in segments):
        raise ConfigurationError(
            f"{name} must be the service's address without the API path, e.g. "
            f"{DEFAULT_BASE_URL!r}: the library adds /v1/api/... itself; drop "
            f"{parts.path[:80]!r}"
        )
    ascii_host = check_host(host, name)
    if not host.isascii():
        netloc = ascii_host if port is None else f"{ascii_host}:{port}"
        url = f"{parts.scheme}://{netloc}{parts.path}"
    return url


def _check_base_url(value: object) -> str:
    return check_base_url(value)


def _check_app_info(value: object) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > 200
        or not value.isprintable()
        or not value.isascii()
    ):
        raise ConfigurationError(
            "app_info must be a short printable str such as 'my-app/1.2' (at most 200 ASCII "
            "characters: it travels in the User-Agent header)"
        )
    return value.strip()


@tolerant_repr
@attrs.frozen(slots=True, kw_only=True, eq=False)
class ClientConfig:
    """Where requests go and how they introduce themselves; validated once, reused per call."""

    base_url: str = attrs.field(default=DEFAULT_BASE_URL, converter=_check_base_url)
    app_info: str | None = attrs.field(default=None, converter=_check_app_info)
    user_agent: str = attrs.field(init=False)
    _headers: Mapping[str, str] = attrs.field(init=False, repr=False, alias="_headers")
    _json_headers: Mapping[str, str] = attrs.field(init=False, repr=False, alias="_json_headers")

    def __attrs_post_init__(self) -> None:
        python = "{}.{}.{}".format(*sys.version_info[:3])
        agent = f"authmatech-python/{__version__} python/{python}"
        if self.app_info:
            agent = f"{agent} {self.app_info}"
        base = {"Accept": "application/json", "User-Agent": agent}
        object.__setattr__(self, "user_agent", agent)
        object.__setattr__(self, "_headers", base)
        object.__setattr__(self, "_json_headers", {**base, "Content-Type": "application/json"})

    def base_headers(self, has_body: bool) -> dict[str, str]:
        """A fresh copy of the headers every request carries."""
        return dict(self._json_headers if has_body else self._headers)


DEFAULT_CONFIG = ClientConfig()


class _HoldsSecret(Exception):
    """Raised by the plain encoder when it meets a :class:`Secret`: the body must be sealed."""


def _refuse_secret(value: object) -> object:
    if isinstance(value, Secret):
        raise _HoldsSecret
    return json.JSONEncoder.default(None, value)  # type: ignore[arg-type]


def _fingerprint_of(value: object) -> object:
    if isinstance(value, Secret):
        return value.fingerprint
    return json.JSONEncoder.default(None, value)  # type: ignore[arg-type]


def _json_encoder(default: Callable[[Any], Any]) -> Callable[[Any], str]:
    """Compact JSON (UTF-8 text, no NaN), non-JSON values passed to ``default``. ``json.dumps``
    builds a C encoder on every call (over half its cost for a small body); this builds it
    once, without the circular-reference table (a value that contains itself fails as a
    RecursionError instead). Where the C accelerator is missing, the pure-Python encoder."""
    encoder = json.JSONEncoder(
        separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=default
    )
    make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if make_encoder is None:  # pragma: no cover (CPython always has it)
        return encoder.encode
    chunks = make_encoder(
        None, encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    return lambda document: "".join(chunks(document, 0))


_to_json = _json_encoder(_refuse_secret)
_to_shown_json = _json_encoder(_fingerprint_of)


#: 1 MiB: far above any documented request; a larger body is a bug in the caller.
MAX_REQUEST_BYTES = 1_048_576


def _encode(body: Mapping[str, Any], to_json: Callable[[Any], str] = _to_json) -> bytes:
    """``body`` as UTF-8 JSON; anything JSON cannot carry is the caller's error, found here.
    Raises ``_HoldsSecret`` if it holds a :class:`Secret` (unless ``to_json`` shows them)."""
    try:
        encoded = to_json(body).encode()
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError) as exc:
        raise RequestValidationError(
            f"the request body cannot be sent as JSON: {_unencodable(exc)}"
        ) from None
    _check_size(len(encoded))
    return encoded


def _check_size(size: int) -> None:
    if size > MAX_REQUEST_BYTES:
        raise RequestValidationError(
            f"the request body would be {size} bytes; the limit is {MAX_REQUEST_BYTES}"
        )


def _seal(document: Mapping[str, Any]) -> tuple[Secret, bytes, tuple[Secret, ...]]:
    """``document`` encoded with its secrets revealed, sealed in a :class:`Secret`; the body to
    show in its place; the secrets in it. No frame keeps the revealed text in a variable."""
    found: list[Secret] = []

    def reveal(value: object) -> object:
        if isinstance(value, Secret):
            found.append(value)
            return value.reveal()
        return json.JSONEncoder.default(None, value)  # type: ignore[arg-type]

    shown = _encode(document, _to_shown_json)  # every error is found here, nothing revealed
    sealed = Secret(_json_encoder(reveal)(document))
    size = _wire_size(sealed)
    if size < 0:
        raise RequestValidationError(
            "the request body cannot be sent as JSON: a secret in it is not valid Unicode text"
        )
    _check_size(size)
    return sealed, shown, tuple(found)


def _wire_size(sealed: Secret) -> int:
    try:
        return len(sealed.reveal().encode())
    except UnicodeEncodeError:
        return -1


def _unencodable(exc: Exception) -> str:
    if isinstance(exc, RecursionError) or "Circular reference" in str(exc):
        return "a value is nested too deeply, or contains itself"
    if isinstance(exc, UnicodeEncodeError):
        return "a string contains a lone surrogate (not valid Unicode text)"
    if isinstance(exc, ValueError) and "Out of range float" in str(exc):
        return "NaN and infinite numbers are not JSON"
    if isinstance(exc, ValueError):
        return "a value is too large to encode"
    return str(exc).split(" is not JSON serializable")[0].replace("Object of type ", "a ") + (
        " is not JSON (use str, int, float, bool, None, lists and dicts with str keys)"
    )


def _target(path: str, path_params: Mapping[str, str], query: Mapping[str, str]) -> str:
    try:
        for name, value in path_params.items():
            path = path.replace(f"{{{name}}}", quote(value, safe=""))
        if query:
            path = f"{path}?{urlencode(query)}"
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise RequestValidationError(
            f"a path or query parameter cannot be put in a URL: {_unencodable(exc)}"
        ) from None
    return path


def _check_str_mapping(value: object, name: str) -> None:
    if not isinstance(value, Mapping) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise RequestValidationError(f"{name} must be a mapping of str to str")


@tolerant_repr
@attrs.frozen(slots=True, kw_only=True, repr=False, eq=False)
class Call(Generic[T]):
    """One validated operation, ready to be built (per attempt) and to parse its answer.

    Embedders drive it with any HTTP library::

        call = core.verify(mobile_number="+962791234567", encrypted_mobile_number=proof)
        request = call.build(credentials)
        result = call.parse(core.HttpResponse(status, headers, body))
    """

    operation: Operation[T]
    path_params: Mapping[str, str] = attrs.field(factory=dict)
    query: Mapping[str, str] = attrs.field(factory=dict)
    body: Mapping[str, Any] | None = None
    _target: str = attrs.field(init=False, alias="_target")
    _encoded: bytes | None = attrs.field(init=False, alias="_encoded")
    _sealed: bool = attrs.field(init=False, alias="_sealed")

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.operation, Operation):
            raise ConfigurationError(
                f"Call.operation must be a core.Operation (see core.OPERATIONS), "
                f"not {type(self.operation).__name__}"
            )
        for name in ("path_params", "query"):
            _check_str_mapping(getattr(self, name), f"Call.{name}")
        if self.body is not None and not isinstance(self.body, Mapping):
            raise RequestValidationError(
                f"Call.body must be a mapping or None, not {type(self.body).__name__}"
            )
        self._prepare()

    def _prepare(self) -> None:
        """The target and, unless it holds a secret, the encoded body: every attempt reuses
        them, and input that cannot be sent fails now, not per attempt."""
        operation = self.operation
        path_params = self.path_params
        query = self.query
        target = operation.path
        if path_params or query:
            target = _target(target, path_params, query)
        body = self.body
        encoded = None
        sealed = operation.needs_client_secret
        if body is not None and not sealed:
            try:
                encoded = _encode(body)
            except _HoldsSecret:
                sealed = True
        if sealed and body is not None:
            _encode(body, _to_shown_json)
        _put_target(self, target)
        _put_encoded(self, encoded)
        _put_sealed(self, sealed)

    def __repr__(self) -> str:
        return f"Call({self.operation.name!r}, {self.operation.method} {self.operation.path})"

    def __rich_repr__(self) -> Iterator[str]:
        """What ``rich`` shows (it reads attrs fields, not ``__repr__``): not the arguments,
        which hold phone numbers."""
        yield self.operation.name
        yield f"{self.operation.method} {self.operation.path}"

    def build(self, credentials: Credentials, config: ClientConfig = DEFAULT_CONFIG) -> HttpRequest:
        """The request for one attempt. Raises ``CredentialScopeError`` before any I/O if the
        credentials cannot authenticate this operation."""
        op = self.operation
        require(
            "build", (credentials, Credentials, "credentials"), (config, ClientConfig, "config")
        )
        if credentials.client_id is None:
            raise CredentialScopeError(op.name, "client ID", credentials.held())
        body = self._encoded
        sealed_body = None
        if self._sealed:
            document = dict(self.body or {})
            if op.needs_client_secret:
                if credentials.client_secret is None:
                    raise CredentialScopeError(op.name, "client secret", credentials.held())
                document["secretKey"] = credentials.client_secret
            sealed_body = _seal(document)
        headers = config.base_headers(body is not None or sealed_body is not None)
        headers["X-CLIENT-ID"] = credentials.client_id
        if op.auth is Auth.API_KEY:
            if credentials.api_key is None:
                raise CredentialScopeError(op.name, "API key", credentials.held())
            secrets = {"X-API-KEY": credentials.api_key}
        else:
            if credentials.sdk_token is None:
                raise CredentialScopeError(op.name, "SDK token", credentials.held())
            secrets = {"X-SDK-TOKEN": credentials.sdk_token}
        return assembled(
            op.method, config.base_url + self._target, headers, secrets, body, sealed_body
        )

    def parse(
        self,
        response: HttpResponse,
        *,
        now: float | None = None,
        request: HttpRequest | None = None,
    ) -> T:
        """The result model, or the matching :class:`~authmatech.APIStatusError` /
        :class:`~authmatech.ResponseValidationError`. Pass ``now`` (``time.time()``) to honour a
        ``Retry-After`` given as an HTTP date, and the ``request`` it answers so that an error
        never carries what a server or proxy echoed of its secrets."""
        if request is not None:
            require(
                "Call.parse",
                (response, HttpResponse, "response"),
                (request, HttpRequest, "request"),
            )
        if request is None or not request.secrets:
            return parse_response(self.operation, response, now=now)
        if not 200 <= response.status_code < 300:
            return parse_response(
                self.operation, scrub_response(response, request.secrets), now=now
            )
        try:  # a result is the server's own data, as it sent it
            return parse_response(self.operation, response, now=now)
        except AuthmatechError as error:
            failure = error
        scrubbed = scrub_response(response, request.secrets)
        if scrubbed is not response and not isinstance(failure, KeyResponseError):
            # (a KeyResponseError keeps the body whole, sealed in a Secret: it is the key's)
            try:  # the error from what is left once the echoes are gone
                parse_response(self.operation, scrubbed, now=now)
            except AuthmatechError as error:
                failure = error
        raise scrub_error(failure, request.secrets)


_NOTHING: Mapping[str, str] = MappingProxyType({})


def prepared_call(
    operation: Operation[T],
    path_params: Mapping[str, str] = _NOTHING,
    query: Mapping[str, str] = _NOTHING,
    body: Mapping[str, Any] | None = None,
) -> Call[T]:
    """A :class:`Call` from arguments its caller has already checked (the core's operation
    functions check every value they put in): ``Call``'s own type checks are skipped, the
    encoding and its limits are not. Half the cost of ``core.verify(...)`` otherwise."""
    call: Call[T] = object.__new__(Call)
    _put_operation(call, operation)
    _put_path_params(call, path_params)
    _put_query(call, query)
    _put_body(call, body)
    call._prepare()
    return call


def _slot_setter(name: str) -> Callable[[Call[Any], Any], None]:
    """The slot's own setter: half the cost of ``object.__setattr__`` (seven per Call)."""
    setter: Callable[[Call[Any], Any], None] = Call.__dict__[name].__set__
    return setter


_put_operation = _slot_setter("operation")
_put_path_params = _slot_setter("path_params")
_put_query = _slot_setter("query")
_put_body = _slot_setter("body")
_put_target = _slot_setter("_target")
_put_encoded = _slot_setter("_encoded")
_put_sealed = _slot_setter("_sealed")
