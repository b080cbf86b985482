"""Verify (direct and web) and SDK-session registration.

* ``POST /v1/api/verify``: ``validNumber`` is true when ``encryptedMobileNumber`` is a proof
  from :meth:`Sandbox.device_proof` for exactly ``mobileNumber`` and, when ``operatorId`` is
  sent, for that operator. Proofs are compared as issued: a URL-encoded proof does not match.
* ``POST /v1/api/verify/{transactionId}``: the same verdict for a
  :meth:`Sandbox.web_transaction` id; an unknown id is ``404 resource_not_found``.
  Proofs and transaction ids may be used more than once (the contract documents no expiry).
* ``maskMobile=true`` needs ``VERIFY_N_PLUS`` and adds ``data.mobileNumber``: the confirmed
  number masked but for its last two digits (the claimed number when the verdict is true, the
  number the proof belongs to when false, ``null`` for an unknown proof).
* Both are billed one credit per answer, negative verdicts included. ``serviceType`` must be
  one of the five documented values or another UPPER_SNAKE_CASE word (values Authmatech may
  add), as the client checks it. A negative verdict opens a Stuck+ session when the
  account has ``STUCK_PLUS``.
* ``POST /v1/api/sdk/session`` (SDK token only, no product needed, not billed) stores the
  device context under ``sdkSessionId`` (the client's, or a new UUID); registering the same id
  again replaces it, so a retried registration is harmless.
"""

from __future__ import annotations

from ..core import _limits
from ._body import Fields, check_mobile_number, mask_number
from ._call import Call, Ok
from ._envelope import ApiError
from ._products import STUCK_PLUS, VERIFY, VERIFY_N_PLUS
from ._state import SdkSession, StuckSession

__all__ = ["SERVICE_TYPES", "register_sdk_session", "verify", "verify_web"]

SERVICE_TYPES = frozenset(_limits.SERVICE_TYPES)


def _service_type(body: Fields) -> str | None:
    value = body.optional_str("serviceType")
    if value is not None and _limits.SERVICE_TYPE_PATTERN.fullmatch(value) is None:
        raise ApiError(
            400,
            "serviceType must be one of "
            + ", ".join(_limits.SERVICE_TYPES)
            + " (or another UPPER_SNAKE_CASE value).",
        )
    return value


def _verify_request(call: Call) -> tuple[bool, Fields, str]:
    """What both verify endpoints check first: the products (Verify N+ for ``maskMobile``),
    then the body's ``mobileNumber``. Returns ``(masked, body, number)``."""
    call.require_product(VERIFY)
    masked = call.flag("maskMobile")
    if masked:
        call.require_product(VERIFY_N_PLUS)
    body = call.body()
    return masked, body, check_mobile_number(body.required_str("mobileNumber", min_length=0))


def verify(call: Call) -> Ok:
    """``POST /v1/api/verify``."""
    masked, body, number = _verify_request(call)
    proof_token = body.required_str("encryptedMobileNumber")
    operator_id = body.optional_str("operatorId", max_length=_limits.ID_MAX)
    service_type = _service_type(body)
    sdk_session_id = body.optional_str("sdkSessionId", max_length=_limits.ID_MAX)
    proof = call.world.proofs.get(proof_token)
    confirmed = proof.mobile_number if proof is not None else None
    valid = (
        proof is not None
        and proof.mobile_number == number
        and (operator_id is None or operator_id == proof.operator_id)
    )
    call.charge(VERIFY)
    _record(call, "DIRECT", number, valid, confirmed, service_type, sdk_session_id)
    return _verdict(valid, number if valid else confirmed, masked)


def verify_web(call: Call) -> Ok:
    """``POST /v1/api/verify/{transactionId}``."""
    masked, body, number = _verify_request(call)
    service_type = _service_type(body)
    confirmed = call.world.web_transactions.get(call.params["transactionId"])
    if confirmed is None:
        raise ApiError(404, "Transaction not found.", code="resource_not_found")
    valid = confirmed == number
    call.charge(VERIFY)
    _record(call, "WEB", number, valid, confirmed, service_type, None)
    return _verdict(valid, confirmed, masked)


def _verdict(valid: bool, confirmed: str | None, masked: bool) -> Ok:
    data: dict[str, object] = {"validNumber": valid}
    if masked:
        data["mobileNumber"] = None if confirmed is None else mask_number(confirmed)
    return Ok(data=data)


def _record(
    call: Call,
    channel: str,
    number: str,
    valid: bool,
    confirmed: str | None,
    service_type: str | None,
    sdk_session_id: str | None,
) -> None:
    account = call.account
    verification_id = call.world.ids.uuid()
    account.verifications.append(
        {
            "verificationId": verification_id,
            "channel": channel,
            "mobileNumber": mask_number(number),
            "validNumber": valid,
            "serviceType": service_type,
            "sdkSessionId": sdk_session_id,
            "timestamp": call.timestamp,
        }
    )
    if not valid:
        account.failures_by_number[number] = account.failures_by_number.get(number, 0) + 1
    if not valid and STUCK_PLUS in account.products:
        session_id = call.world.ids.uuid()
        account.stuck_sessions[session_id] = StuckSession(
            session_id=session_id,
            claimed_number=number,
            confirmed_number=confirmed,
            channel=channel,
            service_type=service_type,
            opened_at=call.timestamp,
            journey=[{"event": "VERIFY_FAILED", "channel": channel, "timestamp": call.timestamp}],
        )


def register_sdk_session(call: Call) -> Ok:
    """``POST /v1/api/sdk/session``."""
    body = call.body()
    session_id = body.optional_str("sdkSessionId", min_length=1, max_length=_limits.ID_MAX)
    mno_id = body.optional_str("mnoId", max_length=_limits.ID_MAX)
    code_present = body.optional_bool("authmatechCodePresent")
    body.optional_str("authmatechCodeHash")
    context = body.optional_object("deviceContext")
    device_id_hash = None
    if context is not None:
        device_id_hash = context.optional_str("deviceIdHash")
        for key in (
            "installationIdHash", "platform", "osVersion", "appVersion",
            "deviceModel", "manufacturer", "sdkVersion", "userAgent",
        ):  # fmt: skip
            context.optional_str(key)
    session_id = session_id or call.world.ids.uuid()
    call.account.sdk_sessions[session_id] = SdkSession(
        session_id=session_id,
        mno_id=mno_id,
        device_id_hash=device_id_hash,
        code_present=code_present,
        registered_at=call.timestamp,
    )
    return Ok(data={"sdkSessionId": session_id})
