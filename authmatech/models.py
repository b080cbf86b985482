"""Request and result models: immutable attrs classes, snake_case here, camelCase on the wire.

Enums are *open*: a field typed ``Decision | str`` holds a :class:`Decision` member for a known
value and the plain string for a value the server adds later, so old clients keep working.
Every result keeps the server's raw ``data`` in ``raw`` for fields this version does not model,
and the response it was read from in ``response`` (status, headers, ``request_id``, raw body).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from ._mask import redact_text
from ._received import HttpResponse
from .credentials import Secret

__all__ = [
    "Anomaly",
    "ApiResult",
    "Confidence",
    "ConnectIntegration",
    "DetectAnalysis",
    "DeviceConsistency",
    "DeviceContext",
    "DeviceSignal",
    "Decision",
    "GeneratedApiKey",
    "Message",
    "MessageType",
    "NetworkSignal",
    "OperatorConsistency",
    "RecommendedAction",
    "RiskLevel",
    "RotatedApiKey",
    "SdkSession",
    "SdkSessionRequest",
    "ServiceType",
    "ShieldAssessment",
    "Signals",
    "TrustScore",
    "VerifyResult",
]


class _OpenEnum(str, enum.Enum):
    """A ``str`` enum that prints and formats as its value on every Python version
    (``f"{Decision.ALLOW}"`` is ``ALLOW``; 3.11 changed the mixed-in default to
    ``Decision.ALLOW``). ``repr`` still names the member."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return format(str(self.value), format_spec)


class ServiceType(_OpenEnum):
    """Why the number is being verified; used by Authmatech for analytics and risk context."""

    REGISTRATION = "REGISTRATION"
    LOGIN = "LOGIN"
    RESET_PASS = "RESET_PASS"
    UPDATE_DETAILS = "UPDATE_DETAILS"
    TRANSACTION = "TRANSACTION"


class MessageType(_OpenEnum):
    """The ``type`` of an envelope message."""

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    INFO = "INFO"
    WARNING = "WARNING"


class Confidence(_OpenEnum):
    """How much signal a Trust score rests on (device and network signals both: ``HIGH``)."""

    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class Decision(_OpenEnum):
    """Shield's ``decision`` and Trust's ``recommendation``; ``BLOCK`` is an answer, not an
    error."""

    ALLOW = "ALLOW"
    CHALLENGE = "CHALLENGE"
    REVIEW = "REVIEW"
    BLOCK = "BLOCK"


class RiskLevel(_OpenEnum):
    """Shield's and Detect's ``riskLevel``."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class DeviceConsistency(_OpenEnum):
    """Is the live device the one of the verified SDK session? (Shield)"""

    STABLE = "STABLE"
    INCONSISTENT = "INCONSISTENT"
    UNKNOWN = "UNKNOWN"


class OperatorConsistency(_OpenEnum):
    """Is the live operator the one of the verified SDK session? (Shield)"""

    STABLE = "STABLE"
    CHANGED = "CHANGED"
    UNKNOWN = "UNKNOWN"


class RecommendedAction(_OpenEnum):
    """Detect's ``recommendedAction`` (note ``MONITOR``, and no ``REVIEW``)."""

    ALLOW = "ALLOW"
    MONITOR = "MONITOR"
    CHALLENGE = "CHALLENGE"
    BLOCK = "BLOCK"


# --- envelope -------------------------------------------------------------------------------


@attrs.frozen(slots=True, kw_only=True)
class Message:
    """One entry of the envelope's ``messages``; every field but ``type`` is often omitted."""

    type: MessageType | str | None = None
    code: str | None = None
    message: str | None = None
    http_status: str | None = None
    technical: bool | None = None
    arguments: Mapping[str, Any] | None = None


# --- requests -------------------------------------------------------------------------------


def _secret_or_none(value: str | Secret | None) -> Secret | None:
    return Secret(value) if isinstance(value, str) else value


@attrs.frozen(slots=True, kw_only=True)
class DeviceSignal:
    """What the app knows about the device (Trust / Shield / Detect input)."""

    platform: str | None = None
    os_version: str | None = None
    model: str | None = None
    app_version: str | None = None
    sdk_version: str | None = None
    is_rooted: bool | None = None
    is_emulator: bool | None = None
    vpn_detected: bool | None = None
    proxy_detected: bool | None = None
    app_integrity_status: str | None = None
    device_id: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class NetworkSignal:
    """What the backend knows about the network the request came from."""

    ip_address: str | None = None
    country_code: str | None = None
    operator: str | None = None
    connection_type: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class Signals:
    """The shared input of Trust, Shield and Detect.

    ``operator`` and ``country_code`` at the top level are Detect's extra fields; the other two
    products ignore them.
    """

    mobile_number: str
    metadata_id: str | None = None
    session_id: str | None = None
    sdk_session_id: str | None = None
    device: DeviceSignal | None = None
    network: NetworkSignal | None = None
    operator: str | None = None
    country_code: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class DeviceContext:
    """Hashed device context the SDK registers with its session."""

    device_id_hash: str | None = None
    installation_id_hash: str | None = None
    platform: str | None = None
    os_version: str | None = None
    app_version: str | None = None
    device_model: str | None = None
    manufacturer: str | None = None
    sdk_version: str | None = None
    user_agent: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class SdkSessionRequest:
    """Body of ``POST /v1/api/sdk/session`` (normally sent by the device SDK itself)."""

    sdk_session_id: str | None = None
    mno_id: str | None = None
    authmatech_code_present: bool | None = None
    authmatech_code_hash: str | None = None
    device_context: DeviceContext | None = None


@attrs.frozen(slots=True, kw_only=True)
class ConnectIntegration:
    """A Connect CRM integration; ``api_key`` is *your* endpoint's credential, kept secret."""

    display_name: str
    integration_type: str
    endpoint_url: str | None = None
    http_method: str | None = None
    api_key: Secret | None = attrs.field(default=None, converter=_secret_or_none)
    trigger_event: str | None = None
    field_mappings: Mapping[str, Any] | None = None
    batch_size: int | None = None
    matched_only: bool | None = None


# --- results --------------------------------------------------------------------------------


def _raw() -> Any:
    """The server's raw ``data``: hidden from repr and equality, reachable for new fields."""
    return attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(slots=True, kw_only=True)
class VerifyResult:
    """The verdict. ``valid_number=False`` is a normal answer, not an error."""

    valid_number: bool
    masked_mobile_number: str | None = attrs.field(
        default=None, metadata={"wire": "mobileNumber"}, repr=lambda value: redact_text(repr(value))
    )
    raw: Mapping[str, Any] = _raw()
    response: HttpResponse | None = attrs.field(default=None, repr=False, eq=False)
    """The response this result was read from: ``status_code``, ``headers``, ``request_id``
    (quote it to support) and the raw ``body``. Every result has one. Metadata, not the
    answer: it takes no part in equality or repr, and is ``None`` for a result built by hand."""


@attrs.frozen(slots=True, kw_only=True)
class SdkSession:
    """A registered SDK session; pass ``sdk_session_id`` to verify, Shield and Detect."""

    sdk_session_id: str | None = None
    raw: Mapping[str, Any] = _raw()
    response: HttpResponse | None = attrs.field(default=None, repr=False, eq=False)


@attrs.frozen(slots=True, kw_only=True)
class TrustScore:
    """Trust's answer: ``trust_score`` 0-100 (higher is more trustworthy) and a
    ``recommendation``; ``transaction_id`` starts with ``TR-``::

        score = await client.intelligence.trust_score(signals)
        if score.recommendation is Decision.ALLOW and score.trust_score >= 80:
            ...
    """

    transaction_id: str | None = None
    trust_score: int | None = None
    confidence: Confidence | str | None = None
    recommendation: Decision | str | None = None
    positive_factors: tuple[str, ...] = ()
    risk_factors: tuple[str, ...] = ()
    breakdown: Mapping[str, float] = attrs.field(factory=dict)
    metadata_id: str | None = None
    raw: Mapping[str, Any] = _raw()
    response: HttpResponse | None = attrs.field(default=None, repr=False, eq=False)


@attrs.frozen(slots=True, kw_only=True)
class ShieldAssessment:
    """Shield's inline decision. ``decision == Decision.BLOCK`` is an answer, not an error."""

    decision: Decision | str | None = None
    risk_score: int | None = None
    risk_level: RiskLevel | str | None = None
    reason_codes: tuple[str, ...] = ()
    sdk_verified: bool | None = None
    device_consistency_level: DeviceConsistency | str | None = None
    operator_consistency_level: OperatorConsistency | str | None = None
    transaction_id: str | None = None
    metadata_id: str | None = None
    raw: Mapping[str, Any] = _raw()
    response: HttpResponse | None = attrs.field(default=None, repr=False, eq=False)


@attrs.frozen(slots=True, kw_only=True)
class Anomaly:
    """One Detect finding. Key names beyond ``type`` are not published; see ``raw``."""

    type: str | None = None
    description: str | None = None
    raw: Mapping[str, Any] = _raw()


@attrs.frozen(slots=True, kw_only=True)
class DetectAnalysis:
    """Detect's answer: typed ``anomalies`` and a ``recommended_action`` for review queues;
    ``transaction_id`` starts with ``DE-``."""

    anomalies: tuple[Anomaly, ...] = ()
    recommended_action: RecommendedAction | str | None = None
    risk_level: RiskLevel | str | None = None
    anomaly_score: int | None = None
    affected_count: int | None = None
    window_stats: Mapping[str, Any] | None = None
    transaction_id: str | None = None
    metadata_id: str | None = None
    raw: Mapping[str, Any] = _raw()
    response: HttpResponse | None = attrs.field(default=None, repr=False, eq=False)


@attrs.frozen(slots=True, kw_only=True)
class RotatedApiKey:
    """The new API key from a rotation. It is shown once: store it, then retire the old one."""

    api_key: Secret
    response: HttpResponse | None = attrs.field(default=None, repr=False, eq=False)
    """The response's status, headers and request id; its body (which holds the key) is
    withheld."""


@attrs.frozen(slots=True, kw_only=True)
class GeneratedApiKey:
    """A newly generated API key (``201 Created``). It is shown once: store it."""

    api_key: Secret
    response: HttpResponse | None = attrs.field(default=None, repr=False, eq=False)
    """The response's status, headers and request id; its body (which holds the key) is
    withheld."""


@attrs.frozen(slots=True, kw_only=True)
class ApiResult:
    """The ``data`` of an endpoint whose response shape is not published (portal reads, Stuck+,
    Connect): returned as the server sent it."""

    data: Any = attrs.field(default=None, repr=lambda data: redact_text(repr(data)))
    response: HttpResponse | None = attrs.field(default=None, repr=False, eq=False)
