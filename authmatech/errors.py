"""The exception hierarchy.

Like h11's local/remote split, errors say whose side the problem is on:

* raised **before any I/O** because of the caller's input or configuration:
  :class:`ConfigurationError`, :class:`CredentialScopeError`, :class:`RequestValidationError`;
* raised **in transit**: :class:`APIConnectionError` / :class:`APITimeoutError`, whose
  ``maybe_processed`` tells whether the server may have acted (and billed);
* raised **because of the server's answer**: :class:`APIStatusError` and its subclasses, or
  :class:`ResponseValidationError` when the body is not the documented envelope.

No message ever contains a secret: credentials are named, never echoed.

Every exception pickles (so one failure in a ``ProcessPoolExecutor`` worker does not break the
pool) and copies with its message and fields; a :class:`~authmatech.Secret` it carries travels
withheld, as its fingerprint only (see :meth:`AuthmatechError.__reduce__`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .credentials import Secret
    from .models import GeneratedApiKey, Message, RotatedApiKey

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "AuthmatechError",
    "BadRequestError",
    "ConfigurationError",
    "CredentialScopeError",
    "FeatureNotEnabledError",
    "InsufficientBalanceError",
    "InvalidMobileNumberError",
    "KeyResponseError",
    "NotFoundError",
    "RateBudgetTimeoutError",
    "RateLimitError",
    "RedirectError",
    "RotationCallbackError",
    "RequestValidationError",
    "ResponseValidationError",
    "ServerError",
]


class AuthmatechError(Exception):
    """Base class of every exception this library raises on purpose."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Rebuild from ``args`` (the message) and the fields, without calling ``__init__``
        (whose keyword-only arguments are not in ``args``); secrets are withheld."""
        return (_rebuild, (type(self), self.args), _withhold(self.__dict__, 0))


def _rebuild(cls: type[AuthmatechError], args: tuple[Any, ...]) -> AuthmatechError:
    return cls.__new__(cls, *args)


def _withhold(value: Any, depth: int) -> Any:
    """``value`` with every :class:`~authmatech.Secret` in it (in containers and attrs models,
    a few levels deep) replaced by its withheld form: a pickle never holds a secret."""
    from .credentials import Secret

    if isinstance(value, Secret):
        return value if value.is_withheld else Secret.withheld(value.fingerprint)
    if depth > 8:
        return value
    if isinstance(value, dict):
        return {key: _withhold(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_withhold(item, depth + 1) for item in value)
    import attrs

    if attrs.has(type(value)):
        changes = {}
        for field in attrs.fields(type(value)):
            if not field.init:
                continue
            item = getattr(value, field.name)
            withheld = _withhold(item, depth + 1)
            if withheld is not item:
                changes[field.alias] = withheld
        return attrs.evolve(value, **changes) if changes else value
    return value


class ConfigurationError(AuthmatechError):
    """Bad or missing configuration (credentials, base URL, timeouts), found before any I/O."""


class CredentialScopeError(ConfigurationError):
    """The operation needs a credential the caller does not hold, or may not use.

    Carries the operation, the credential it needs and the names (never the values) of the
    credentials held, so the fix is obvious from the message alone.
    """

    def __init__(self, operation: str, required: str, held: Sequence[str]) -> None:
        self.operation = operation
        self.required = required
        self.held: tuple[str, ...] = tuple(held)
        holding = ", ".join(self.held) if self.held else "no credentials"
        super().__init__(
            f"{operation} needs the {required}, but this client holds {holding}. "
            f"Pass {_HOW_TO_PASS.get(required, required)} when creating the client."
        )


_HOW_TO_PASS = {
    "API key": "api_key=... (or set AUTHMATECH_API_KEY)",
    "SDK token": "sdk_token=... (or set AUTHMATECH_SDK_TOKEN)",
    "client secret": "client_secret=... (or set AUTHMATECH_CLIENT_SECRET)",
    "client ID": "client_id=... (or set AUTHMATECH_CLIENT_ID)",
}


class RotationCallbackError(AuthmatechError):
    """The key was rotated and the client switched to it, but ``on_api_key_rotated`` raised.

    The new key is shown only once, so it travels here: ``.rotated.api_key`` (a ``Secret``).
    Store it before anything else; the callback's exception is the ``__cause__``.
    """

    def __init__(self, rotated: RotatedApiKey | GeneratedApiKey, cause: BaseException) -> None:
        self.rotated = rotated
        super().__init__(
            f"the API key was replaced (new key {rotated.api_key.fingerprint}) and this client "
            f"now uses it, but on_api_key_rotated raised {type(cause).__name__}: the new key is "
            "in this error's .rotated.api_key; store it now, the old key no longer works"
        )


class RequestValidationError(AuthmatechError, ValueError):
    """An argument is invalid (e.g. a number that is not E.164); nothing was sent."""


class APIConnectionError(AuthmatechError):
    """The request failed in transit.

    ``maybe_processed`` is ``False`` only when nothing can have reached the server (connection
    refused, connect or pool timeout); otherwise the server may have acted on the request, and a
    billable call may have been charged.
    """

    def __init__(self, message: str, *, maybe_processed: bool) -> None:
        super().__init__(message)
        self.maybe_processed = maybe_processed


class APITimeoutError(APIConnectionError):
    """A timeout (connect, read, write, pool, or the call's overall deadline) expired."""


class RateBudgetTimeoutError(APITimeoutError):
    """The account's rate budget has no slot for this attempt before the call's deadline.

    Raised *before sending* (``maybe_processed`` is ``False``: nothing was billed) when the
    wait for a slot alone would pass the deadline; ``max_wait`` is what was left of it.
    """

    def __init__(self, message: str, *, max_wait: float) -> None:
        super().__init__(message, maybe_processed=False)
        self.max_wait = max_wait


class APIStatusError(AuthmatechError):
    """The server answered with an error: a non-2xx status or ``success: false``."""

    #: Whether the server may have acted on the request before failing.
    maybe_processed: bool = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        messages: Sequence[Message] = (),
        request_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.messages: tuple[Message, ...] = tuple(messages)
        self.request_id = request_id
        parts = [f"{status_code}"]
        if code:
            parts.append(f"[{code}]")
        parts.append(message)
        if request_id:
            parts.append(f"(request id {request_id})")
        super().__init__(" ".join(parts))


class RedirectError(APIStatusError):
    """The server answered a 3xx. Redirects are never followed, so credentials never leave the
    configured host."""


class BadRequestError(APIStatusError):
    """400: missing or invalid fields, a product not enabled, or balance exhausted."""


class InvalidMobileNumberError(BadRequestError):
    """400 with code ``INVALID_MOBILE_NUMBER``: the number is not valid E.164."""


class FeatureNotEnabledError(BadRequestError):
    """400: the product or feature is not enabled for the account (see ``account.products()``)."""


class InsufficientBalanceError(BadRequestError):
    """400: the account balance is empty or expired."""


class AuthenticationError(APIStatusError):
    """401: the ``X-API-KEY`` / ``X-CLIENT-ID`` pair (or the SDK token) was missing or invalid."""


class NotFoundError(APIStatusError):
    """404: the resource does not exist (code ``resource_not_found``)."""


class RateLimitError(APIStatusError):
    """429: the per-client rate budget is exceeded. ``retry_after`` is in seconds, if known."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        code: str | None = None,
        messages: Sequence[Message] = (),
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, status_code=status_code, code=code, messages=messages, request_id=request_id
        )
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: the server failed. It may have processed the request before failing."""

    maybe_processed = True


class ResponseValidationError(AuthmatechError):
    """A 2xx body is not the documented envelope (bad JSON, HTML from a proxy, wrong types).

    The server answered, so it may have processed the request.
    """

    maybe_processed = True

    def __init__(
        self, message: str, *, status_code: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.request_id = request_id


class KeyResponseError(ResponseValidationError):
    """A key endpoint (rotation or generation) answered ``2xx``, but the client could not use
    the answer: no key it recognises in the body, or a key an HTTP header cannot carry.

    Authmatech retires the old key when it issues a new one, so **the old key may already be
    dead**. Whatever the server sent is here, for you to store or inspect:

    * ``raw_body``: the whole response body as text, a :class:`~authmatech.Secret` (the new key
      may be in it under a name this version does not know);
    * ``api_key``: the key the library found but could not use, or ``None``; it was also
      handed to ``on_api_key_rotated``;
    * ``endpoint``: ``"POST /v1/api/me/api-key/rotate"`` and so on.

    Neither secret appears in ``str``, ``repr``, logs or a pickle (an unpickled copy has
    ``raw_body`` and ``api_key`` set to ``None``: handle this error where it is raised).
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        raw_body: Secret | None,
        api_key: Secret | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, request_id=request_id)
        self.endpoint = endpoint
        self.raw_body = raw_body
        self.api_key = api_key

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle everything but the secrets (``raw_body`` and ``api_key`` become ``None``)."""
        return (
            _rebuild_key_response_error,
            (type(self), str(self), self.endpoint, self.status_code, self.request_id),
        )


def _rebuild_key_response_error(
    cls: type[KeyResponseError],
    message: str,
    endpoint: str,
    status_code: int | None,
    request_id: str | None,
) -> KeyResponseError:
    return cls(
        message,
        endpoint=endpoint,
        raw_body=None,
        status_code=status_code,
        request_id=request_id,
    )
