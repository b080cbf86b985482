"""Authmatech for Python: silent mobile-number verification, typed and async-first.

A device proves it owns a number through its operator's network; your backend confirms it with
one call::

    import authmatech

    async with authmatech.AsyncClient() as client:   # AUTHMATECH_CLIENT_ID / _API_KEY
        result = await client.verify("+962791234567", proof, operator_id="ZAIN_JO")
        if result.valid_number:
            ...

``authmatech.Client`` is the same surface, synchronous. ``authmatech.core`` is the sans-IO
core for embedding in another SDK; ``authmatech.sandbox`` is a local emulator of the API.
"""

from . import _logging  # noqa: F401  (installs the NullHandler and the redaction filter)
from ._async_client import AsyncClient
from ._base_client import NOT_GIVEN, NotGiven
from ._budget import AsyncRateBudget, RateBudget, SyncRateBudget
from ._client import Client
from ._version import __version__
from .core import RetryPolicy, Timeout
from .credentials import Credentials, Secret
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    AuthmatechError,
    BadRequestError,
    ConfigurationError,
    CredentialScopeError,
    FeatureNotEnabledError,
    InsufficientBalanceError,
    InvalidMobileNumberError,
    KeyResponseError,
    NotFoundError,
    RateBudgetTimeoutError,
    RateLimitError,
    RedirectError,
    RequestValidationError,
    ResponseValidationError,
    RotationCallbackError,
    ServerError,
    UnderlyingError,
)
from .models import (
    Anomaly,
    ApiResult,
    Confidence,
    ConnectIntegration,
    Decision,
    DetectAnalysis,
    DeviceConsistency,
    DeviceContext,
    DeviceSignal,
    GeneratedApiKey,
    Message,
    MessageType,
    NetworkSignal,
    OperatorConsistency,
    RecommendedAction,
    RiskLevel,
    RotatedApiKey,
    SdkSession,
    ServiceType,
    ShieldAssessment,
    Signals,
    TrustScore,
    VerifyResult,
)

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Anomaly",
    "ApiResult",
    "AsyncClient",
    "AsyncRateBudget",
    "AuthenticationError",
    "AuthmatechError",
    "BadRequestError",
    "Client",
    "Confidence",
    "ConfigurationError",
    "ConnectIntegration",
    "CredentialScopeError",
    "Credentials",
    "Decision",
    "DetectAnalysis",
    "DeviceConsistency",
    "DeviceContext",
    "DeviceSignal",
    "FeatureNotEnabledError",
    "GeneratedApiKey",
    "InsufficientBalanceError",
    "InvalidMobileNumberError",
    "Message",
    "MessageType",
    "NetworkSignal",
    "NotFoundError",
    "NotGiven",
    "OperatorConsistency",
    "RateBudget",
    "RateBudgetTimeoutError",
    "RateLimitError",
    "RecommendedAction",
    "RedirectError",
    "RequestValidationError",
    "KeyResponseError",
    "RotationCallbackError",
    "ResponseValidationError",
    "RetryPolicy",
    "RiskLevel",
    "RotatedApiKey",
    "SdkSession",
    "Secret",
    "ServerError",
    "ServiceType",
    "ShieldAssessment",
    "Signals",
    "SyncRateBudget",
    "Timeout",
    "TrustScore",
    "UnderlyingError",
    "VerifyResult",
    "__version__",
]
