"""One function per operation: validate the arguments, return a :class:`Call`.

These are the embedders' API (``authmatech.core.verify(...)``) and what both clients call.
Every check runs here, before anything is built or sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs
import cattrs

from .. import models
from .._convert import camel, converter, to_wire, wire_name
from ..errors import RequestValidationError
from ..models import ServiceType
from . import _limits
from ._operations import OPERATIONS
from ._request import Call, prepared_call
from ._validate import (
    check_e164,
    check_flag,
    check_identifier,
    check_instance,
    check_mapping,
    check_optional_text,
    check_service_type,
    check_text,
    check_unicode,
)

__all__ = [
    "account_balance_history",
    "account_products",
    "account_usage",
    "account_verifications",
    "connect_create_integration",
    "connect_start_import",
    "detect_analyze",
    "generate_api_key",
    "register_sdk_session",
    "rotate_api_key",
    "rotate_client_key",
    "rotate_client_key_by_id",
    "shield_assess",
    "stuck_plus_backfill",
    "stuck_plus_journey",
    "stuck_plus_overview",
    "stuck_plus_reset",
    "stuck_plus_reveal",
    "stuck_plus_reveals",
    "stuck_plus_sessions",
    "trust_score",
    "verify",
    "verify_web",
]

QueryParams = Mapping[str, "str | int | bool"]

#: Longer query keys or values make URLs that servers and proxies refuse.
_MAX_QUERY_TEXT = 2048
#: All of them together (before percent-encoding): 8 KiB is the common server and proxy limit
#: of a request line.
_MAX_QUERY_TOTAL = 8192


def _call(argument: str, operation: str, **fields: Any) -> Call[Any]:
    """A :class:`Call` whose body is built from ``argument``: if the body cannot be sent (not
    JSON, too large), the error names that argument."""
    try:
        return prepared_call(OPERATIONS[operation], **fields)
    except RequestValidationError as error:
        raise RequestValidationError(f"{argument}: {error}") from None


def _without_none(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _mask_query(mask_mobile: object) -> dict[str, str]:
    return {"maskMobile": "true"} if check_flag(mask_mobile, "mask_mobile") else {}


def _query(params: object) -> dict[str, str]:
    if params is None:
        return {}
    mapping = check_mapping(params, "params")
    query: dict[str, str] = {}
    for key, value in mapping.items():
        check_unicode(key, "params")
        if len(key) > _MAX_QUERY_TEXT:
            raise RequestValidationError(
                f"params has a {len(key)}-character key; the limit is {_MAX_QUERY_TEXT}"
            )
        if isinstance(value, bool):
            query[key] = "true" if value else "false"
        elif isinstance(value, str):
            if len(value) > _MAX_QUERY_TEXT:
                raise RequestValidationError(
                    f"params[{key!r}] is {len(value)} characters long; the limit is "
                    f"{_MAX_QUERY_TEXT}"
                )
            query[key] = check_unicode(value, f"params[{key!r}]")
        elif isinstance(value, int) and -(10**18) <= value <= 10**18:
            query[key] = str(value)
        else:
            raise RequestValidationError(
                f"params[{key!r}] must be a str, an int (at most 10**18 in size) or a bool, "
                f"not {type(value).__name__}"
            )
    total = sum(len(key) + len(value) + 2 for key, value in query.items())
    if total > _MAX_QUERY_TOTAL:
        raise RequestValidationError(
            f"params would make a query string of {total} characters; the limit is "
            f"{_MAX_QUERY_TOTAL} (servers and proxies refuse longer URLs)"
        )
    return query


def verify(
    mobile_number: str,
    encrypted_mobile_number: str,
    *,
    operator_id: str | None = None,
    service_type: ServiceType | str | None = None,
    sdk_session_id: str | None = None,
    mask_mobile: bool = False,
) -> Call[models.VerifyResult]:
    """``POST /v1/api/verify``: does the customer control ``mobile_number``?

    ``encrypted_mobile_number`` is the proof the device SDK obtained (its ``authmatechCode``),
    passed through unchanged; ``operator_id`` is its ``MNOID``. Billable.
    """
    body = {
        "mobileNumber": check_e164(mobile_number),
        "encryptedMobileNumber": check_text(encrypted_mobile_number, "encrypted_mobile_number"),
    }
    if operator_id is not None:
        body["operatorId"] = check_text(operator_id, "operator_id", max_length=_limits.ID_MAX)
    service = check_service_type(service_type)
    if service is not None:
        body["serviceType"] = service
    if sdk_session_id is not None:
        body["sdkSessionId"] = check_text(
            sdk_session_id, "sdk_session_id", max_length=_limits.ID_MAX
        )
    return prepared_call(OPERATIONS["verify"], query=_mask_query(mask_mobile), body=body)


def verify_web(
    transaction_id: str,
    mobile_number: str,
    *,
    service_type: ServiceType | str | None = None,
    mask_mobile: bool = False,
) -> Call[models.VerifyResult]:
    """``POST /v1/api/verify/{transactionId}``: the web variant, by transaction id. Billable."""
    body = _without_none(
        mobileNumber=check_e164(mobile_number), serviceType=check_service_type(service_type)
    )
    return prepared_call(
        OPERATIONS["verify_web"],
        path_params={"transactionId": check_identifier(transaction_id, "transaction_id")},
        query=_mask_query(mask_mobile),
        body=body,
    )


def register_sdk_session(
    *,
    sdk_session_id: str | None = None,
    mno_id: str | None = None,
    authmatech_code_present: bool | None = None,
    authmatech_code_hash: str | None = None,
    device_context: models.DeviceContext | None = None,
) -> Call[models.SdkSession]:
    """``POST /v1/api/sdk/session`` with the SDK token (the only call it may make).

    Normally the device SDK makes this call; it is here for advanced and server-side flows.
    """
    request = models.SdkSessionRequest(
        sdk_session_id=check_optional_text(
            sdk_session_id, "sdk_session_id", max_length=_limits.ID_MAX
        ),
        mno_id=check_optional_text(mno_id, "mno_id", max_length=_limits.ID_MAX),
        authmatech_code_present=(
            None
            if authmatech_code_present is None
            else check_flag(authmatech_code_present, "authmatech_code_present")
        ),
        authmatech_code_hash=check_optional_text(authmatech_code_hash, "authmatech_code_hash"),
        device_context=(
            None
            if device_context is None
            else check_instance(device_context, models.DeviceContext, "device_context")
        ),
    )
    return _call(
        "device_context", "sdk.register_session", body=_checked_wire(request, "the session request")
    )


def _why(exc: Exception) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc))
    return str(exc)


_NESTED_SIGNALS: dict[str, type] = {"device": models.DeviceSignal, "network": models.NetworkSignal}
_SIGNALS_HINT = (
    "a mapping with camelCase keys such as {'mobileNumber': '+962791234567', 'device': "
    "{'isRooted': False}}, or authmatech.Signals(mobile_number=..., ...)"
)


def _wire_keys(cls: type) -> list[str]:
    return [wire_name(field) for field in attrs.fields(cls) if field.name != "raw"]


def _check_signal_keys(mapping: Mapping[Any, Any], cls: type, path: str) -> None:
    """Refuse keys the model does not have, saying which camelCase key was meant: a dropped
    key would silently change the verdict's inputs."""
    known = _wire_keys(cls)
    unknown = [key for key in mapping if key not in known]
    if unknown:
        shown = []
        for key in unknown[:5]:
            meant = camel(key) if isinstance(key, str) else None
            if meant in known:
                shown.append(f"{key!r:.40} (the key is {meant!r})")
            else:
                shown.append(f"{key!r:.40}")
        raise RequestValidationError(
            f"{path} has unknown key{'s' if len(unknown) > 1 else ''} {', '.join(shown)}: its "
            f"keys are camelCase, one of {', '.join(known)}"
        )
    for key, nested in _NESTED_SIGNALS.items():
        value = mapping.get(key) if cls is models.Signals else None
        if isinstance(value, Mapping):
            _check_signal_keys(value, nested, f"{path}[{key!r}]")


def _wire_path(match: re.Match[str]) -> str:
    return "@ " + ".".join(camel(part) for part in match.group(1).split("."))


def _signals(signals: object) -> dict[str, Any]:
    if isinstance(signals, Mapping):
        _check_signal_keys(signals, models.Signals, "signals")
        if "mobileNumber" not in signals:
            raise RequestValidationError(
                "signals needs 'mobileNumber': the customer's number in E.164 format "
                "(e.g. '+962791234567')"
            )
        try:
            parsed = converter.structure(dict(signals), models.Signals)
        except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
            why = re.sub(r"@ (\$[\w.]*)", _wire_path, _why(exc))
            raise RequestValidationError(f"signals has a value of the wrong type: {why}") from None
        check_e164(parsed.mobile_number, "signals['mobileNumber']")
    elif isinstance(signals, models.Signals):
        parsed = signals
        check_e164(parsed.mobile_number, "signals.mobile_number")
    else:
        raise RequestValidationError(
            f"signals must be {_SIGNALS_HINT}, not {type(signals).__name__}"
        )
    wire = _checked_wire(parsed, "signals")
    for name, limit in (
        ("metadata_id", _limits.METADATA_ID_MAX),
        ("session_id", _limits.SESSION_ID_MAX),
        ("sdk_session_id", _limits.ID_MAX),
    ):
        check_optional_text(getattr(parsed, name), f"signals.{name}", max_length=limit)
    return wire


def _checked_wire(model: object, name: str) -> dict[str, Any]:
    """``model`` as its JSON object, after checking every field's type as the server would
    (attrs models do not check types themselves)."""
    try:
        wire = to_wire(model)
        converter.structure(wire, type(model))
    except RecursionError:
        raise RequestValidationError(
            f"{name} cannot be sent as JSON: a value is nested too deeply, or contains itself"
        ) from None
    except (cattrs.BaseValidationError, TypeError, ValueError, AttributeError) as exc:
        raise RequestValidationError(f"{name} has a field of the wrong type: {_why(exc)}") from None
    _check_text_lengths(wire, name, depth=2)
    return wire


def _check_text_lengths(wire: Mapping[str, Any], name: str, *, depth: int) -> None:
    """Every string of a model's JSON object, and of the objects in it (``depth`` levels, as
    deep as the models go), within the limit the API applies to string fields."""
    for key, value in wire.items():
        if isinstance(value, str) and len(value) > _limits.TEXT_MAX:
            raise RequestValidationError(
                f"{name}.{key} is {len(value)} characters long; the limit is {_limits.TEXT_MAX}"
            )
        if isinstance(value, Mapping) and depth > 1:
            _check_text_lengths(value, f"{name}.{key}", depth=depth - 1)


def trust_score(signals: models.Signals | Mapping[str, Any]) -> Call[models.TrustScore]:
    """``POST /v1/api/trust/score``: a 0-100 trust score and a recommendation. Billable."""
    return _call("signals", "intelligence.trust_score", body=_signals(signals))


def shield_assess(signals: models.Signals | Mapping[str, Any]) -> Call[models.ShieldAssessment]:
    """``POST /v1/api/shield/assess``: an inline ALLOW/CHALLENGE/REVIEW/BLOCK decision.
    Billable."""
    return _call("signals", "intelligence.shield_assess", body=_signals(signals))


def detect_analyze(signals: models.Signals | Mapping[str, Any]) -> Call[models.DetectAnalysis]:
    """``POST /v1/api/detect/analyze``: anomalies across time and accounts. Billable."""
    return _call("signals", "intelligence.detect_analyze", body=_signals(signals))


def rotate_api_key() -> Call[models.RotatedApiKey]:
    """``POST /v1/api/me/api-key/rotate``: a new key for the caller; needs the client secret.
    Never retried once sent."""
    return prepared_call(OPERATIONS["account.rotate_api_key"], body={})


def rotate_client_key() -> Call[models.RotatedApiKey]:
    """``POST /v1/api/clients/rotate-key``: rotate by client; needs the client secret."""
    return prepared_call(OPERATIONS["account.rotate_client_key"], body={})


def rotate_client_key_by_id(client_id: str) -> Call[models.RotatedApiKey]:
    """``POST /v1/api/clients/{clientId}/rotate-key`` (the dashboard's variant)."""
    return prepared_call(
        OPERATIONS["account.rotate_client_key_by_id"],
        path_params={"clientId": check_identifier(client_id, "client_id")},
        body={},
    )


def generate_api_key() -> Call[models.GeneratedApiKey]:
    """``POST /v1/api/me/api-key/generate``: answers ``201`` with the new key; needs the client
    secret (the contract leaves this call's credential open; see the docs)."""
    return prepared_call(OPERATIONS["account.generate_api_key"], body={})


def _read(name: str, params: QueryParams | None) -> Call[models.ApiResult]:
    return prepared_call(OPERATIONS[name], query=_query(params))


def account_products(params: QueryParams | None = None) -> Call[models.ApiResult]:
    """``GET /v1/api/me/products``: which products are enabled for the account."""
    return _read("account.products", params)


def account_usage(params: QueryParams | None = None) -> Call[models.ApiResult]:
    """``GET /v1/api/me/usage``: usage analytics (query parameters passed through)."""
    return _read("account.usage", params)


def account_verifications(params: QueryParams | None = None) -> Call[models.ApiResult]:
    """``GET /v1/api/me/verifications``: verification history."""
    return _read("account.verifications", params)


def account_balance_history(params: QueryParams | None = None) -> Call[models.ApiResult]:
    """``GET /v1/api/me/balance-history``: balance movements over time."""
    return _read("account.balance_history", params)


def stuck_plus_overview(params: QueryParams | None = None) -> Call[models.ApiResult]:
    """``GET /v1/api/me/stuck-plus/overview``."""
    return _read("stuck_plus.overview", params)


def stuck_plus_sessions(params: QueryParams | None = None) -> Call[models.ApiResult]:
    """``GET /v1/api/me/stuck-plus/sessions``."""
    return _read("stuck_plus.sessions", params)


def stuck_plus_reveals(params: QueryParams | None = None) -> Call[models.ApiResult]:
    """``GET /v1/api/me/stuck-plus/reveals``: the reveal audit trail."""
    return _read("stuck_plus.reveals", params)


def _session_call(name: str, session_id: str, body: Mapping[str, Any] | None) -> Call[Any]:
    return prepared_call(
        OPERATIONS[name],
        path_params={"sessionId": check_identifier(session_id, "session_id")},
        body=body,
    )


def stuck_plus_journey(session_id: str) -> Call[models.ApiResult]:
    """``GET /v1/api/me/stuck-plus/sessions/{sessionId}/journey``."""
    return _session_call("stuck_plus.journey", session_id, None)


def stuck_plus_reveal(session_id: str) -> Call[models.ApiResult]:
    """``POST .../sessions/{sessionId}/reveal``: consumes credits and is audited; never retried
    once sent."""
    return _session_call("stuck_plus.reveal", session_id, {})


def stuck_plus_reset(session_id: str) -> Call[models.ApiResult]:
    """``POST .../sessions/{sessionId}/reset``."""
    return _session_call("stuck_plus.reset", session_id, {})


def stuck_plus_backfill(body: Mapping[str, Any] | None = None) -> Call[models.ApiResult]:
    """``POST /v1/api/me/stuck-plus/backfill`` (its body is not published; passed through)."""
    payload = {} if body is None else dict(check_mapping(body, "body"))
    return _call("body", "stuck_plus.backfill", body=payload)


def connect_start_import(job_id: str, field_mappings: Mapping[str, Any]) -> Call[models.ApiResult]:
    """``POST /v1/api/me/connect/import/start``: apply field mappings to an uploaded job."""
    body = {
        "jobId": check_text(job_id, "job_id", max_length=_limits.ID_MAX),
        "fieldMappings": _field_mappings(field_mappings, "field_mappings"),
    }
    return _call("field_mappings", "connect.start_import", body=body)


def connect_create_integration(
    integration: models.ConnectIntegration,
) -> Call[models.ApiResult]:
    """``POST /v1/api/me/connect/integrations``: deliver matches to your CRM endpoint."""
    item = check_instance(integration, models.ConnectIntegration, "integration")
    check_text(item.display_name, "integration.display_name", max_length=_limits.DISPLAY_NAME_MAX)
    check_text(
        item.integration_type,
        "integration.integration_type",
        max_length=_limits.INTEGRATION_TYPE_MAX,
    )
    _endpoint_url(item.endpoint_url)
    check_optional_text(
        item.http_method, "integration.http_method", max_length=_limits.HTTP_METHOD_MAX
    )
    check_optional_text(
        item.trigger_event, "integration.trigger_event", max_length=_limits.TRIGGER_EVENT_MAX
    )
    if item.api_key is not None:
        check_text(item.api_key.reveal(), "integration.api_key", max_length=_limits.API_KEY_MAX)
    if item.field_mappings is not None:
        _field_mappings(item.field_mappings, "integration.field_mappings")
    low, high = _limits.BATCH_SIZE_MIN, _limits.BATCH_SIZE_MAX
    if item.batch_size is not None and (
        isinstance(item.batch_size, bool)
        or not isinstance(item.batch_size, int)
        or not low <= item.batch_size <= high
    ):
        raise RequestValidationError(
            f"integration.batch_size must be an int from {low} to {high:,}"
        )
    return _call(
        "integration", "connect.create_integration", body=_checked_wire(item, "integration")
    )


def _field_mappings(value: object, name: str) -> dict[str, str]:
    """A flat mapping of field name to field name (str to str), as the API takes it."""
    mappings = check_mapping(value, name)
    for source, target in mappings.items():
        if not isinstance(target, str):
            raise RequestValidationError(
                f"{name} must map field names to field names (str to str); "
                f"{source!r} maps to a {type(target).__name__}"
            )
        for text in (source, target):
            if len(text) > _limits.TEXT_MAX:
                raise RequestValidationError(
                    f"{name} has a {len(text)}-character field name; the limit is "
                    f"{_limits.TEXT_MAX}"
                )
            check_unicode(text, name)
    return dict(mappings)


def _endpoint_url(value: object) -> None:
    """An absolute http(s) URL with a host (``integration.endpoint_url``)."""
    if value is None:
        return
    url = check_text(value, "integration.endpoint_url", max_length=_limits.ENDPOINT_URL_MAX)
    parts = urlsplit(url)
    if parts.scheme not in _limits.ENDPOINT_URL_SCHEMES or not parts.netloc:
        raise RequestValidationError(
            "integration.endpoint_url must be an absolute http:// or https:// URL with a host, "
            "e.g. 'https://crm.example.com/hooks/authmatech'"
        )
