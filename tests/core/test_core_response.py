"""Rule 5: response parsing, golden cases from the contract."""

from __future__ import annotations

import json
from typing import Any

import pytest
from core_helpers import envelope, failure, response

from authmatech import core, models
from authmatech.core import HttpResponse
from authmatech.credentials import Secret
from authmatech.errors import (
    APIStatusError,
    AuthenticationError,
    AuthmatechError,
    BadRequestError,
    FeatureNotEnabledError,
    InsufficientBalanceError,
    InvalidMobileNumberError,
    KeyResponseError,
    NotFoundError,
    RateLimitError,
    RedirectError,
    ResponseValidationError,
    ServerError,
)
from authmatech.models import (
    Confidence,
    Decision,
    DeviceConsistency,
    Message,
    MessageType,
    OperatorConsistency,
    RecommendedAction,
    RiskLevel,
)

OPS = core.OPERATIONS
VERIFY = OPS["verify"]
DATE = "Wed, 21 Oct 2015 07:28:00 GMT"
DATE_TS = 1445412480.0


def parse(
    op: str, status: int, body: bytes, headers: dict[str, str] | None = None, **kw: Any
) -> Any:
    return core.parse_response(OPS[op], response(status, body, headers), **kw)


def raises(
    op: str, status: int, body: bytes, headers: dict[str, str] | None = None, **kw: Any
) -> Any:
    with pytest.raises(AuthmatechError) as info:
        parse(op, status, body, headers, **kw)
    return info.value


# --- verify ---------------------------------------------------------------------------------

CONTRACT_SUCCESS = (
    b'{"success": true, "messages": [{"type": "SUCCESS", "httpStatus": "OK", '
    b'"technical": false}], "data": {"validNumber": true}}'
)


def test_verify_success_from_the_contract() -> None:
    result = parse("verify", 200, CONTRACT_SUCCESS)
    assert result == models.VerifyResult(valid_number=True)
    assert result.valid_number is True
    assert result.masked_mobile_number is None
    assert result.raw == {"validNumber": True}
    assert repr(result) == "VerifyResult(valid_number=True, masked_mobile_number=None)"


def test_verify_web_parses_the_same_way() -> None:
    assert parse("verify_web", 200, CONTRACT_SUCCESS).valid_number is True


def test_negative_verdict_is_a_result_not_an_error() -> None:
    result = parse("verify", 200, envelope({"validNumber": False}))
    assert result.valid_number is False
    assert result.raw == {"validNumber": False}


def test_masked_number_comes_from_data_mobile_number() -> None:
    result = parse("verify", 200, envelope({"validNumber": True, "mobileNumber": "********67"}))
    assert result.masked_mobile_number == "********67"
    assert result.raw == {"validNumber": True, "mobileNumber": "********67"}


def test_unknown_keys_are_tolerated_and_kept_in_raw() -> None:
    body = json.dumps(
        {
            "success": True,
            "timestamp": "2025-01-01T00:00:00Z",
            "messages": [{"type": "NOTICE", "httpStatus": "OK", "extra": 1}],
            "data": {"validNumber": True, "verifyPlus": {"suggested": "+9627*****67"}},
        }
    ).encode()
    result = parse("verify", 200, body)
    assert result.valid_number is True
    assert result.raw["verifyPlus"] == {"suggested": "+9627*****67"}


@pytest.mark.parametrize(
    "content_type", ["text/html", "*/*", "text/plain; charset=utf-8", "application/octet-stream"]
)
def test_json_is_parsed_whatever_the_content_type(content_type: str) -> None:
    result = parse("verify", 200, CONTRACT_SUCCESS, {"Content-Type": content_type})
    assert result.valid_number is True


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
def test_json_in_another_unicode_encoding_is_parsed(encoding: str) -> None:
    body = json.dumps({"success": True, "data": {"validNumber": True}}).encode(encoding)
    assert parse("verify", 200, body).valid_number is True


def test_non_ascii_utf8_json_is_parsed() -> None:
    body = json.dumps(
        {"success": True, "data": {"validNumber": True, "note": "رقم"}}, ensure_ascii=False
    ).encode()
    assert parse("verify", 200, body).raw["note"] == "رقم"


def test_bytes_that_are_no_unicode_are_not_json() -> None:
    with pytest.raises(ResponseValidationError, match="not JSON"):
        parse("verify", 200, b'{"success": true, "data": "' + bytes([0xFF, 0xFE, 0xFA]) + b'"}')


# --- messages -------------------------------------------------------------------------------


def test_messages_with_missing_optional_fields() -> None:
    body = envelope(
        None,
        success=False,
        messages=[{"type": "FAILURE"}, {"message": "Client not found."}, {}],
    )
    error = raises("account.products", 404, body)
    assert error.messages == (
        Message(type=MessageType.FAILURE),
        Message(message="Client not found."),
        Message(),
    )
    assert error.message == "Client not found."


def test_full_message_is_parsed_field_by_field() -> None:
    body = envelope(
        None,
        success=False,
        messages=[
            {
                "type": "FAILURE",
                "code": "resource_already_exists",
                "message": "Integration exists.",
                "httpStatus": "BAD_REQUEST",
                "technical": True,
                "arguments": {"name": "crm"},
            }
        ],
    )
    error = raises("connect.create_integration", 400, body)
    (message,) = error.messages
    assert message.type is MessageType.FAILURE
    assert message.code == "resource_already_exists"
    assert message.message == "Integration exists."
    assert message.http_status == "BAD_REQUEST"
    assert message.technical is True
    assert message.arguments == {"name": "crm"}


def test_unknown_message_type_is_kept_as_str_and_bad_messages_are_skipped() -> None:
    body = json.dumps(
        {
            "success": False,
            "messages": [
                {"type": "DEBUG", "httpStatus": "NOT_FOUND"},
                "not an object",
                {"type": "INFO", "technical": "no"},
                {"type": 5},
                {"type": "WARNING", "code": None, "message": None, "arguments": None},
            ],
            "data": None,
        }
    ).encode()
    error = raises("account.products", 404, body)
    assert error.messages == (
        Message(type="DEBUG", http_status="NOT_FOUND"),
        Message(type=MessageType.WARNING),
    )
    assert error.messages[0].type == "DEBUG"
    assert not isinstance(error.messages[0].type, MessageType)
    assert error.message == "Not Found"


@pytest.mark.parametrize("messages", [None, "oops", {"type": "FAILURE"}, 3])
def test_messages_that_are_not_a_list_give_no_messages(messages: Any) -> None:
    body = json.dumps({"success": False, "messages": messages, "data": None}).encode()
    error = raises("account.usage", 500, body)
    assert type(error) is ServerError
    assert error.messages == ()
    assert error.message == "Internal Server Error"


@pytest.mark.parametrize("messages", [None, "oops", [1, "x"], [{"type": 5}]])
def test_malformed_messages_on_success_are_ignored(messages: Any) -> None:
    body = json.dumps({"success": True, "messages": messages, "data": {"a": 1}}).encode()
    assert parse("account.usage", 200, body) == models.ApiResult(data={"a": 1})


def test_envelope_without_messages() -> None:
    body = b'{"success": true, "data": {"validNumber": false}}'
    assert parse("verify", 200, body).valid_number is False


# --- error statuses -------------------------------------------------------------------------

UNAUTHORIZED = failure("UNAUTHORIZED", "Unauthorized")


def test_401_is_an_authentication_error_with_the_whitespace_hint() -> None:
    error = raises("verify", 401, UNAUTHORIZED)
    assert type(error) is AuthenticationError
    assert error.status_code == 401
    assert error.code is None
    assert error.message.startswith("Unauthorized: check that X-API-KEY and X-CLIENT-ID")
    assert "whitespace" in error.message
    assert "line breaks" in error.message
    assert "POST /v1/api/sdk/session" in error.message
    assert error.messages == (
        Message(type=MessageType.FAILURE, message="Unauthorized", http_status="UNAUTHORIZED"),
    )
    assert str(error).startswith("401 Unauthorized: check that")
    assert error.maybe_processed is False


def test_401_on_a_rotation_hints_at_the_client_secret() -> None:
    error = raises("account.rotate_api_key", 401, UNAUTHORIZED)
    assert type(error) is AuthenticationError
    assert error.message == "Unauthorized: check the client secret (it is not the API key)"


def test_401_without_an_envelope() -> None:
    error = raises("account.products", 401, b"<html>401</html>")
    assert type(error) is AuthenticationError
    assert error.message.startswith(
        "Unauthorized (the body was not the JSON envelope): check that X-API-KEY"
    )


def test_404_resource_not_found() -> None:
    body = failure("NOT_FOUND", "Client not found.", code="resource_not_found")
    error = raises("account.rotate_client_key_by_id", 404, body, {"X-Request-Id": "req-42"})
    assert type(error) is NotFoundError
    assert error.status_code == 404
    assert error.code == "resource_not_found"
    assert error.message == "Client not found."
    assert error.request_id == "req-42"
    assert str(error) == "404 [resource_not_found] Client not found. (request id req-42)"


RATE_LIMITED = (
    b'{"success": false, "messages": [{"type": "FAILURE", "message": "Rate limit exceeded.", '
    b'"httpStatus": "TOO_MANY_REQUESTS"}], "data": null}'
)


@pytest.mark.parametrize(
    ("headers", "now", "retry_after"),
    [
        ({}, None, None),
        ({}, DATE_TS, None),
        ({"Retry-After": "3"}, None, 3.0),
        ({"retry-after": "2.5"}, None, 2.5),
        ({"RETRY-AFTER": " 0 "}, None, 0.0),
        ({"Retry-After": DATE}, DATE_TS - 30, 30.0),
        ({"Retry-After": DATE}, DATE_TS + 5, 0.0),
        ({"Retry-After": DATE}, None, None),
        ({"Retry-After": "soon"}, DATE_TS, None),
    ],
)
def test_429_rate_limit(
    headers: dict[str, str], now: float | None, retry_after: float | None
) -> None:
    error = raises("verify", 429, RATE_LIMITED, headers, now=now)
    assert type(error) is RateLimitError
    assert error.status_code == 429
    assert error.message == "Rate limit exceeded."
    assert error.retry_after == retry_after


def test_call_parse_passes_now_through() -> None:
    call = core.account_products()
    with pytest.raises(RateLimitError) as info:
        call.parse(response(429, RATE_LIMITED, {"Retry-After": DATE}), now=DATE_TS - 12)
    assert info.value.retry_after == 12.0


@pytest.mark.parametrize(
    ("value", "now", "seconds"),
    [
        ("3", None, 3.0),
        ("0", None, 0.0),
        (" 7 ", None, 7.0),
        ("1.5", None, 1.5),
        ("-1", None, None),
        ("inf", None, None),
        ("nan", None, None),
        ("", None, None),
        (None, None, None),
        ("soon", DATE_TS, None),
        (DATE, DATE_TS - 30, 30.0),
        (DATE, DATE_TS + 100, 0.0),
        (DATE, None, None),
        ("Wed, 21 Oct 2015 07:28:00 +0200", DATE_TS - 7200 - 1, 1.0),
        ("Wed, 21 Oct 2015 07:28:00 -0000", DATE_TS, None),
        ("Wed, 99 Oct 2015 07:28:00 GMT", DATE_TS, None),
    ],
)
def test_parse_retry_after(value: str | None, now: float | None, seconds: float | None) -> None:
    assert core.parse_retry_after(value, now) == seconds


@pytest.mark.parametrize(
    ("body", "cls", "code", "message"),
    [
        (
            failure("BAD_REQUEST", "Invalid mobile number.", code="INVALID_MOBILE_NUMBER"),
            InvalidMobileNumberError,
            "INVALID_MOBILE_NUMBER",
            "Invalid mobile number.",
        ),
        (
            failure("BAD_REQUEST", "Trust product is not enabled for this account."),
            FeatureNotEnabledError,
            None,
            "Trust product is not enabled for this account.",
        ),
        (
            failure("BAD_REQUEST", "Feature NOT ENABLED"),
            FeatureNotEnabledError,
            None,
            "Feature NOT ENABLED",
        ),
        (
            failure("BAD_REQUEST", "Insufficient balance."),
            InsufficientBalanceError,
            None,
            "Insufficient balance.",
        ),
        (
            failure("BAD_REQUEST", "Your Balance has expired"),
            InsufficientBalanceError,
            None,
            "Your Balance has expired",
        ),
        (
            failure("BAD_REQUEST", "mobileNumber is required"),
            BadRequestError,
            None,
            "mobileNumber is required",
        ),
        (
            failure("BAD_REQUEST", None, code="resource_already_exists"),
            BadRequestError,
            "resource_already_exists",
            "Bad Request",
        ),
        (b"", BadRequestError, None, "Bad Request (the body was not the JSON envelope)"),
    ],
)
def test_400_variants(body: bytes, cls: type, code: str | None, message: str) -> None:
    error = raises("verify", 400, body)
    assert type(error) is cls
    assert isinstance(error, BadRequestError)
    assert error.status_code == 400
    assert error.code == code
    assert error.message == message
    assert error.maybe_processed is False


def test_first_message_with_content_wins() -> None:
    body = envelope(
        None,
        success=False,
        messages=[
            {"type": "FAILURE", "httpStatus": "BAD_REQUEST"},
            {"type": "FAILURE", "code": "INVALID_MOBILE_NUMBER", "message": "Bad number."},
            {"type": "FAILURE", "message": "Product not enabled."},
        ],
    )
    error = raises("verify", 400, body)
    assert type(error) is InvalidMobileNumberError
    assert (error.code, error.message) == ("INVALID_MOBILE_NUMBER", "Bad number.")
    assert len(error.messages) == 3


def test_server_messages_are_redacted_and_truncated() -> None:
    body = failure("BAD_REQUEST", "Number +962791234567 is blocked " + "x" * 1000)
    error = raises("verify", 400, body)
    assert "+962791234567" not in str(error)
    # masked (the mask is one character shorter), then cut to 500 characters
    assert error.message == "Number +9627*****67 is blocked " + "x" * 469 + (
        "... (531 more characters)"
    )


def test_every_server_text_in_an_error_is_bounded_and_masked() -> None:
    """A 900 KB code, message, request id and thousands of messages make a short error."""
    huge = "+962791234567 " + "C" * 900_000
    item = {"type": huge, "code": huge, "message": huge, "httpStatus": huge}
    small = {"type": "FAILURE", "message": "call +962791234567"}
    body = envelope(None, success=False, messages=[item] + [small] * 5000)
    response = HttpResponse(400, {"x-request-id": huge}, body)
    with pytest.raises(APIStatusError) as info:
        core.verify("+962791234567", "proof").parse(response)
    error = info.value
    text = f"{error} {error!r} {error.messages!r} {vars(error)!r}"
    assert len(str(error)) < 1_000
    assert len(text) < 50_000
    assert "+962791234567" not in text
    assert len(error.messages) == 20
    assert len(error.code or "") < 150
    assert len(error.request_id or "") <= 128


def test_500_is_a_server_error_that_may_have_been_processed() -> None:
    body = failure("INTERNAL_SERVER_ERROR", "Boom", code="internal_server_error")
    error = raises("verify", 500, body)
    assert type(error) is ServerError
    assert error.maybe_processed is True
    assert error.code == "internal_server_error"
    assert str(error) == "500 [internal_server_error] Boom"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (504, "Gateway Timeout"),
        (599, "HTTP 599"),
    ],
)
def test_5xx_with_an_html_body_is_a_server_error(status: int, reason: str) -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    error = raises("account.products", status, html, {"Content-Type": "text/html"})
    assert type(error) is ServerError
    assert error.status_code == status
    assert error.message == f"{reason} (the body was not the JSON envelope)"
    assert error.messages == ()
    assert error.maybe_processed is True


@pytest.mark.parametrize(
    ("status", "reason"),
    [(403, "Forbidden"), (409, "Conflict"), (422, "Unprocessable Entity"), (418, "HTTP 418")],
)
def test_other_4xx_are_generic_status_errors(status: int, reason: str) -> None:
    error = raises("verify", status, b"")
    assert type(error) is APIStatusError
    assert error.status_code == status
    assert error.message == f"{reason} (the body was not the JSON envelope)"


def test_other_4xx_with_an_envelope_keeps_the_server_text() -> None:
    error = raises("verify", 409, failure("CONFLICT", "Exists", code="resource_already_exists"))
    assert type(error) is APIStatusError
    assert (error.code, error.message) == ("resource_already_exists", "Exists")


@pytest.mark.parametrize("status", [100, 101, 199])
def test_informational_statuses_are_status_errors(status: int) -> None:
    error = raises("verify", status, b"")
    assert type(error) is APIStatusError
    assert error.status_code == status


@pytest.mark.parametrize("status", [200, 201, 202])
def test_2xx_with_success_false_is_a_status_error(status: int) -> None:
    body = failure("BAD_REQUEST", "Something failed", code="x")
    error = raises("verify", status, body)
    assert type(error) is APIStatusError
    assert error.status_code == status
    assert (error.code, error.message) == ("x", "Something failed")


def test_2xx_with_success_false_and_no_message() -> None:
    error = raises("verify", 200, b'{"success": false, "data": null}')
    assert type(error) is APIStatusError
    assert error.message == "OK"


@pytest.mark.parametrize("status", [300, 301, 302, 303, 304, 307, 308])
def test_3xx_is_a_redirect_error(status: int) -> None:
    headers = {"Location": "https://evil.example.com/", "X-Request-Id": "r-3"}
    error = raises("verify", status, b"", headers)
    assert type(error) is RedirectError
    assert isinstance(error, APIStatusError)
    assert error.status_code == status
    assert error.request_id == "r-3"
    assert "redirects are never followed" in error.message


# --- invalid 2xx bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (200, b"", "the body is empty"),
        (200, b"  \n ", "the body is empty"),
        (201, b"", "the body is empty"),
        (200, b"<html>ok</html>", "the body is not JSON"),
        (200, b'{"success": true', "the body is not JSON"),
        (200, b"\xff\xfe\xfa", "the body is not JSON"),
        (200, b"[" * 100_000, "the body is not JSON"),
        (200, b'{"success": "true", "data": {}}', "the envelope's success is not a boolean"),
        (200, b'{"success": 1, "data": {}}', "the envelope's success is not a boolean"),
        (200, b'{"success": null, "data": {}}', "the envelope's success is not a boolean"),
        (200, b"{}", "data does not match verify's result"),
        (200, b'{"data": {}}', "data does not match verify's result"),
        (200, b'{"validNumber": "true"}', "data does not match verify's result"),
        (200, b'{"error": "nope", "data": []}', "an error object, not the envelope"),
        (200, b'{"errors": [{"message": "x"}]}', "an error object, not the envelope"),
        (200, b"[]", "nor a JSON object"),
        (200, b"null", "nor a JSON object"),
        (200, b'"ok"', "nor a JSON object"),
        (200, envelope({"validNumber": "true"}), "data does not match verify's result"),
        (200, envelope({"validNumber": 1}), "data does not match verify's result"),
        (200, envelope({}), "data does not match verify's result"),
        (200, envelope(None), "data does not match verify's result"),
        (200, envelope([{"validNumber": True}]), "data does not match verify's result"),
        (200, envelope({"validNumber": True, "mobileNumber": 67}), "does not match"),
        (204, envelope({"validNumber": "yes"}), "does not match"),
        (204, b"", "data does not match verify's result"),
    ],
)
def test_invalid_2xx_bodies_are_response_validation_errors(
    status: int, body: bytes, why: str
) -> None:
    error = raises("verify", status, body, {"X-Request-Id": "rq-1"})
    assert type(error) is ResponseValidationError
    assert why in str(error)
    assert str(error).startswith(f"unexpected response to a {status}: ")
    assert error.status_code == status
    assert error.request_id == "rq-1"
    assert error.maybe_processed is True


def test_wrong_type_message_names_the_field() -> None:
    error = raises("verify", 200, envelope({"validNumber": "true"}))
    assert str(error).endswith("expected bool @ $.valid_number")


@pytest.mark.parametrize(
    "name",
    [name for name, op in OPS.items() if op.result.__name__ == "_api_result"],
)
def test_204_empty_is_an_empty_api_result(name: str) -> None:
    assert parse(name, 204, b"") == models.ApiResult(data=None)


def test_api_result_keeps_any_data() -> None:
    body = envelope([{"id": 1}, {"id": 2}])
    result = parse("stuck_plus.sessions", 200, body)
    assert result == models.ApiResult(data=[{"id": 1}, {"id": 2}])
    assert parse("account.usage", 200, envelope(None)).data is None
    assert parse("account.usage", 200, envelope("text")).data == "text"


def test_api_result_repr_masks_phone_numbers() -> None:
    result = parse("stuck_plus.reveal", 200, envelope({"mobileNumber": "+962791234567"}))
    assert result.data == {"mobileNumber": "+962791234567"}
    assert "+962791234567" not in repr(result)
    assert "+9627*****67" in repr(result)


# --- request ids ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "request_id"),
    [
        ({"X-Request-Id": "abc"}, "abc"),
        ({"x-request-id": "abc", "X-Correlation-Id": "def"}, "abc"),
        ({"X-Correlation-Id": "def"}, "def"),
        ({"Request-Id": "ghi"}, "ghi"),
        ({"X-Amzn-RequestId": "amz"}, "amz"),
        ({"X-Request-Id": ""}, None),
        ({"X-Request-Id": "r" * 300}, "r" * 128),
        ({}, None),
    ],
)
def test_request_id(headers: dict[str, str], request_id: str | None) -> None:
    error = raises("verify", 500, b"", headers)
    assert error.request_id == request_id
    if request_id:
        assert str(error).endswith(f"(request id {request_id})")
    else:
        assert "request id" not in str(error)


# --- rotation / generation ------------------------------------------------------------------


def test_rotation_returns_a_rotated_key_as_a_secret() -> None:
    body = (
        b'{"success": true, "messages": [{"type": "SUCCESS", "httpStatus": "OK", '
        b'"technical": false}], "data": {"newApiKey": "ak_new_0123456789"}}'
    )
    for name in ("account.rotate_client_key", "account.rotate_api_key"):
        result = parse(name, 200, body)
        assert type(result) is models.RotatedApiKey
        assert isinstance(result.api_key, Secret)
        assert result.api_key.reveal() == "ak_new_0123456789"
        assert "ak_new_0123456789" not in repr(result)
        assert Secret("ak_new_0123456789").fingerprint in repr(result)


@pytest.mark.parametrize(
    ("name", "data", "key"),
    [
        ("account.rotate_client_key_by_id", {"newApiKey": " ak_padded \n"}, "ak_padded"),
        ("account.rotate_api_key", {"apiKey": "ak_fallback"}, "ak_fallback"),
        ("account.rotate_api_key", {"newApiKey": "", "apiKey": "ak_second"}, "ak_second"),
        ("account.generate_api_key", {"apiKey": "ak_generated"}, "ak_generated"),
        ("account.generate_api_key", {"newApiKey": "ak_generated2"}, "ak_generated2"),
    ],
)
def test_new_key_field_variants(name: str, data: dict[str, Any], key: str) -> None:
    result = parse(name, 201, envelope(data))
    assert result.api_key == Secret(key)
    expected_type = (
        models.GeneratedApiKey if name == "account.generate_api_key" else models.RotatedApiKey
    )
    assert type(result) is expected_type


@pytest.mark.parametrize(
    "data", [None, {}, {"newApiKey": None}, {"newApiKey": 123}, {"newApiKey": "   "}, ["k"]]
)
def test_rotation_without_a_new_key_is_a_key_response_error(data: Any) -> None:
    body = envelope(data)
    error = raises("account.rotate_api_key", 200, body)
    assert type(error) is KeyResponseError
    assert isinstance(error, ResponseValidationError)
    assert "no new API key was found" in str(error)
    assert error.raw_body is not None
    assert error.raw_body.reveal() == body.decode()


# --- SDK session, Trust, Shield, Detect -----------------------------------------------------


def test_sdk_session() -> None:
    result = parse("sdk.register_session", 200, envelope({"sdkSessionId": "s-123", "x": 1}))
    assert result == models.SdkSession(sdk_session_id="s-123")
    assert result.raw == {"sdkSessionId": "s-123", "x": 1}
    assert parse("sdk.register_session", 200, envelope({})).sdk_session_id is None


TRUST_DATA = {
    "transactionId": "TR-1a2b",
    "trustScore": 85,
    "confidence": "HIGH",
    "recommendation": "ALLOW",
    "positiveFactors": ["network_stable", "device_known"],
    "riskFactors": ["velocity_spike"],
    "breakdown": {"network_score": 90, "device_score": 75},
    "metadataId": "order-9921",
}


def test_trust_score_example_field_by_field() -> None:
    result = parse("intelligence.trust_score", 200, envelope(TRUST_DATA))
    assert type(result) is models.TrustScore
    assert result.transaction_id == "TR-1a2b"
    assert result.trust_score == 85
    assert result.confidence is Confidence.HIGH
    assert result.recommendation is Decision.ALLOW
    assert result.positive_factors == ("network_stable", "device_known")
    assert result.risk_factors == ("velocity_spike",)
    assert result.breakdown == {"network_score": 90, "device_score": 75}
    assert result.metadata_id == "order-9921"
    assert result.raw == TRUST_DATA


def test_trust_score_accepts_an_integral_float_and_unknown_enum_values() -> None:
    data = {**TRUST_DATA, "trustScore": 85.0, "confidence": "VERY_HIGH", "recommendation": "HOLD"}
    result = parse("intelligence.trust_score", 200, envelope(data))
    assert result.trust_score == 85
    assert type(result.trust_score) is int
    assert result.confidence == "VERY_HIGH"
    assert result.recommendation == "HOLD"


SHIELD_DATA = {
    "decision": "BLOCK",
    "riskScore": 92,
    "riskLevel": "CRITICAL",
    "reasonCodes": ["DEVICE_CHANGED", "OPERATOR_CHANGED"],
    "sdkVerified": True,
    "deviceConsistencyLevel": "INCONSISTENT",
    "operatorConsistencyLevel": "CHANGED",
    "transactionId": "SH-9f8e",
    "metadataId": "order-9921",
}


def test_shield_block_is_a_result_field_by_field() -> None:
    result = parse("intelligence.shield_assess", 200, envelope(SHIELD_DATA))
    assert type(result) is models.ShieldAssessment
    assert result.decision is Decision.BLOCK
    assert result.risk_score == 92
    assert result.risk_level is RiskLevel.CRITICAL
    assert result.reason_codes == ("DEVICE_CHANGED", "OPERATOR_CHANGED")
    assert result.sdk_verified is True
    assert result.device_consistency_level is DeviceConsistency.INCONSISTENT
    assert result.operator_consistency_level is OperatorConsistency.CHANGED
    assert result.transaction_id == "SH-9f8e"
    assert result.metadata_id == "order-9921"
    assert result.raw == SHIELD_DATA


def test_shield_unknown_decision_is_kept_as_str() -> None:
    data = {**SHIELD_DATA, "decision": "QUARANTINE", "riskLevel": "SEVERE"}
    result = parse("intelligence.shield_assess", 200, envelope(data))
    assert result.decision == "QUARANTINE"
    assert type(result.decision) is str
    assert result.risk_level == "SEVERE"
    assert type(result.risk_level) is str


def test_shield_with_only_a_decision() -> None:
    result = parse("intelligence.shield_assess", 200, envelope({"decision": "ALLOW"}))
    assert result == models.ShieldAssessment(decision=Decision.ALLOW)
    assert result.reason_codes == ()
    assert result.risk_score is None


DETECT_DATA = {
    "anomalies": [
        {"type": "MULTI_ACCOUNT", "description": "3 accounts share this device", "count": 3},
        {"type": "VELOCITY_SPIKE"},
    ],
    "recommendedAction": "MONITOR",
    "riskLevel": "HIGH",
    "anomalyScore": 60,
    "affectedCount": 3,
    "windowStats": {"window": "24h", "attempts": 17},
    "transactionId": "DE-77aa",
    "metadataId": "order-9921",
}


def test_detect_example_field_by_field() -> None:
    result = parse("intelligence.detect_analyze", 200, envelope(DETECT_DATA))
    assert type(result) is models.DetectAnalysis
    first, second = result.anomalies
    assert first == models.Anomaly(type="MULTI_ACCOUNT", description="3 accounts share this device")
    assert first.raw == DETECT_DATA["anomalies"][0]
    assert first.raw["count"] == 3
    assert second == models.Anomaly(type="VELOCITY_SPIKE")
    assert result.recommended_action is RecommendedAction.MONITOR
    assert result.risk_level is RiskLevel.HIGH
    assert result.anomaly_score == 60
    assert result.affected_count == 3
    assert result.window_stats == {"window": "24h", "attempts": 17}
    assert result.transaction_id == "DE-77aa"
    assert result.metadata_id == "order-9921"
    assert result.raw == DETECT_DATA


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("intelligence.trust_score", {"trustScore": "85"}),
        ("intelligence.trust_score", {"trustScore": 85.5}),
        ("intelligence.trust_score", {"trustScore": True}),
        ("intelligence.trust_score", {"confidence": 1}),
        ("intelligence.trust_score", {"positiveFactors": [1, 2]}),
        ("intelligence.trust_score", {"breakdown": [90, 75]}),
        ("intelligence.shield_assess", {"sdkVerified": "true"}),
        ("intelligence.shield_assess", {"decision": ["BLOCK"]}),
        ("intelligence.detect_analyze", {"anomalies": ["MULTI_ACCOUNT"]}),
        ("intelligence.detect_analyze", {"windowStats": "24h"}),
        ("intelligence.detect_analyze", {"anomalyScore": None, "affectedCount": "3"}),
        ("sdk.register_session", {"sdkSessionId": 5}),
    ],
)
def test_wrong_types_in_intelligence_results(name: str, data: dict[str, Any]) -> None:
    error = raises(name, 200, envelope(data))
    assert type(error) is ResponseValidationError
    assert f"data does not match {name}'s result" in str(error)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("intelligence.trust_score", {"positiveFactors": "network_stable"}),
        ("intelligence.shield_assess", {"reasonCodes": "DEVICE_CHANGED"}),
        ("intelligence.trust_score", {"breakdown": {"network_score": "ninety"}}),
    ],
    ids=["string-for-list", "string-for-reason-codes", "string-in-number-map"],
)
def test_wrong_container_element_types_are_rejected(name: str, data: dict[str, Any]) -> None:
    # A string where the contract has an array of strings is iterated character by character
    # (positiveFactors "abc" -> ('a', 'b', 'c')), and Mapping[str, float] values are never
    # checked, so malformed data becomes a wrong result instead of a ResponseValidationError.
    with pytest.raises(ResponseValidationError):
        parse(name, 200, envelope(data))
