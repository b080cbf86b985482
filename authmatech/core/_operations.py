"""One declarative spec per endpoint of the contract.

Everything the rest of the library needs to know about an endpoint lives in its row here: how
it is called, which credential it needs, whether it costs money, whether it is safe to send
twice, and how its ``data`` becomes a result.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from .. import models
from .._convert import converter
from ..credentials import Secret
from ..errors import ConfigurationError

__all__ = ["OPERATIONS", "Auth", "Operation", "Replay"]

T = TypeVar("T")


class Auth(enum.Enum):
    """Which credential header authenticates the call (``X-CLIENT-ID`` always travels too)."""

    API_KEY = "API key"
    SDK_TOKEN = "SDK token"


class Replay(enum.Enum):
    """May the request be sent again once it may have reached the server?"""

    SAFE = "safe"
    """Idempotent read: retry after any transient failure."""
    UNSAFE = "unsafe"
    """Billable or state-changing: retry once sent only if the caller opts in."""
    NEVER = "never"
    """Key rotation / generation, Stuck+ reveal: never sent twice, whatever the policy."""


def _kind(kind: type) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if type(value) is not kind and not (kind is str and isinstance(value, str)):
            raise ConfigurationError(
                f"Operation.{attribute.name} must be a {kind.__name__}, not {type(value).__name__}"
            )

    return check


_METHOD = re.compile(r"[A-Z]{1,16}")
#: A path template: ``/``-separated, printable ASCII without spaces, ``?`` or ``#`` (the query
#: is the Call's), ``{name}`` for a path parameter.
_PATH = re.compile(r"/[!$&'()*+,\-./0-9:;=@A-Z_a-z~{}%]*")


def _method(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _kind(str)(instance, attribute, value)
    if not isinstance(value, str) or not _METHOD.fullmatch(value):
        raise ConfigurationError(
            "Operation.method must be an HTTP method in capitals, such as 'GET' or 'POST'"
        )


def _path(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _kind(str)(instance, attribute, value)
    if not isinstance(value, str) or not _PATH.fullmatch(value):
        raise ConfigurationError(
            "Operation.path must be an absolute path such as '/v1/api/verify' ('{name}' for a "
            "path parameter): printable ASCII, no spaces, no query string or fragment"
        )


def _callable(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not callable(value):
        raise ConfigurationError("Operation.result must be a callable turning data into a result")


@attrs.frozen(slots=True, kw_only=True, eq=False)
class Operation(Generic[T]):
    """The spec of one endpoint: how it is called, which credential it needs, whether it is
    billable and safe to resend, and how its ``data`` becomes the result ``T``.

    For an operation that :attr:`replaces_key`, ``result`` takes the new key (a ``Secret``)
    that the response parser found in the answer, wherever it was (see ``core._keys``).
    """

    name: str = attrs.field(validator=_kind(str))
    method: str = attrs.field(validator=_method)
    path: str = attrs.field(validator=_path)
    auth: Auth = attrs.field(default=Auth.API_KEY, validator=_kind(Auth))
    needs_client_secret: bool = attrs.field(default=False, validator=_kind(bool))
    billable: bool = attrs.field(default=False, validator=_kind(bool))
    replay: Replay = attrs.field(default=Replay.UNSAFE, validator=_kind(Replay))
    result: Callable[[Any], T] = attrs.field(validator=_callable)

    @property
    def idempotent(self) -> bool:
        return self.replay is Replay.SAFE

    @property
    def replaces_key(self) -> bool:
        """A rotation or key generation: the server retires the old key when it answers."""
        return self.needs_client_secret


def _typed(cls: type[T]) -> Callable[[Any], T]:
    def parse(data: Any) -> T:
        if type(data) is not dict and not isinstance(data, Mapping):
            raise TypeError(f"expected data to be an object, got {type(data).__name__}")
        return converter.structure(data, cls)

    return parse


def _rotated_result(key: Secret) -> models.RotatedApiKey:
    return models.RotatedApiKey(api_key=key)


def _generated_result(key: Secret) -> models.GeneratedApiKey:
    return models.GeneratedApiKey(api_key=key)


def _api_result(data: Any) -> models.ApiResult:
    return models.ApiResult(data=data)


def _op(name: str, method: str, path: str, result: Any, **flags: Any) -> Operation[Any]:
    replay = Replay.SAFE if method == "GET" else flags.pop("replay", Replay.UNSAFE)
    return Operation(name=name, method=method, path=path, result=result, replay=replay, **flags)


_V1 = "/v1/api"
_RAW = _api_result

OPERATIONS: dict[str, Operation[Any]] = {
    op.name: op
    for op in (
        _op("verify", "POST", f"{_V1}/verify", _typed(models.VerifyResult), billable=True),
        _op(
            "verify_web",
            "POST",
            f"{_V1}/verify/{{transactionId}}",
            _typed(models.VerifyResult),
            billable=True,
        ),
        _op(
            "sdk.register_session",
            "POST",
            f"{_V1}/sdk/session",
            _typed(models.SdkSession),
            auth=Auth.SDK_TOKEN,
        ),
        _op(
            "intelligence.trust_score",
            "POST",
            f"{_V1}/trust/score",
            _typed(models.TrustScore),
            billable=True,
        ),
        _op(
            "intelligence.shield_assess",
            "POST",
            f"{_V1}/shield/assess",
            _typed(models.ShieldAssessment),
            billable=True,
        ),
        _op(
            "intelligence.detect_analyze",
            "POST",
            f"{_V1}/detect/analyze",
            _typed(models.DetectAnalysis),
            billable=True,
        ),
        _op(
            "account.rotate_client_key",
            "POST",
            f"{_V1}/clients/rotate-key",
            _rotated_result,
            needs_client_secret=True,
            replay=Replay.NEVER,
        ),
        _op(
            "account.rotate_client_key_by_id",
            "POST",
            f"{_V1}/clients/{{clientId}}/rotate-key",
            _rotated_result,
            needs_client_secret=True,
            replay=Replay.NEVER,
        ),
        _op(
            "account.rotate_api_key",
            "POST",
            f"{_V1}/me/api-key/rotate",
            _rotated_result,
            needs_client_secret=True,
            replay=Replay.NEVER,
        ),
        _op(
            "account.generate_api_key",
            "POST",
            f"{_V1}/me/api-key/generate",
            _generated_result,
            needs_client_secret=True,
            replay=Replay.NEVER,
        ),
        _op("account.products", "GET", f"{_V1}/me/products", _RAW),
        _op("account.usage", "GET", f"{_V1}/me/usage", _RAW),
        _op("account.verifications", "GET", f"{_V1}/me/verifications", _RAW),
        _op("account.balance_history", "GET", f"{_V1}/me/balance-history", _RAW),
        _op("stuck_plus.overview", "GET", f"{_V1}/me/stuck-plus/overview", _RAW),
        _op("stuck_plus.sessions", "GET", f"{_V1}/me/stuck-plus/sessions", _RAW),
        _op(
            "stuck_plus.journey",
            "GET",
            f"{_V1}/me/stuck-plus/sessions/{{sessionId}}/journey",
            _RAW,
        ),
        _op(
            "stuck_plus.reveal",
            "POST",
            f"{_V1}/me/stuck-plus/sessions/{{sessionId}}/reveal",
            _RAW,
            billable=True,
            replay=Replay.NEVER,
        ),
        _op("stuck_plus.reset", "POST", f"{_V1}/me/stuck-plus/sessions/{{sessionId}}/reset", _RAW),
        _op("stuck_plus.backfill", "POST", f"{_V1}/me/stuck-plus/backfill", _RAW),
        _op("stuck_plus.reveals", "GET", f"{_V1}/me/stuck-plus/reveals", _RAW),
        _op("connect.start_import", "POST", f"{_V1}/me/connect/import/start", _RAW),
        _op("connect.create_integration", "POST", f"{_V1}/me/connect/integrations", _RAW),
    )
}
