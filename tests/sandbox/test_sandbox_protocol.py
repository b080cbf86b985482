"""Envelope, authentication, routing and body rules, through the sans-IO core."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sandbox_helpers import (
    NUMBER,
    UNAUTHORIZED,
    auth,
    call,
    data,
    envelope,
    failure,
    sdk_auth,
    verify,
)

from authmatech.credentials import Secret
from authmatech.sandbox import MAX_BODY_BYTES, Sandbox, SandboxAccount, SandboxRequest

VERIFY_PATH = "/v1/api/verify"
SESSION_PATH = "/v1/api/sdk/session"
WRONG_TYPE = "Content-Type must be application/json."


def test_success_envelope_is_exactly_the_documented_shape(sb: Sandbox, account: SandboxAccount):
    proof = sb.device_proof(NUMBER)
    reply = verify(sb, account, NUMBER, proof.encrypted_mobile_number)
    assert reply.json() == {
        "success": True,
        "messages": [
            {
                "type": "SUCCESS",
                "code": None,
                "message": None,
                "httpStatus": "OK",
                "technical": False,
                "arguments": None,
            }
        ],
        "data": {"validNumber": True},
    }
    assert envelope(reply)["success"] is True
    assert reply.delay == 0.0
    assert reply.reset is None


def test_request_ids_are_unique_and_logged(sb: Sandbox, account: SandboxAccount):
    replies = [call(sb, "GET", "/v1/api/me/products", account=account) for _ in range(5)]
    ids = [reply.header("x-request-id") for reply in replies]
    assert len(set(ids)) == 5
    assert [seen.request_id for seen in sb.requests] == ids


def _headers(account: SandboxAccount, other: SandboxAccount) -> dict[str, dict[str, str]]:
    key = account.api_key.reveal()
    return {
        "nothing": {},
        "client id only": {"X-CLIENT-ID": account.client_id},
        "api key only": {"X-API-KEY": key},
        "wrong key": {"X-CLIENT-ID": account.client_id, "X-API-KEY": key[:-1] + "x"},
        "unknown client": {"X-CLIENT-ID": "cl_sbx_nobody", "X-API-KEY": key},
        "other account's key": {
            "X-CLIENT-ID": account.client_id,
            "X-API-KEY": other.api_key.reveal(),
        },
        "trailing space": {"X-CLIENT-ID": account.client_id, "X-API-KEY": key + " "},
        "leading space": {"X-CLIENT-ID": account.client_id, "X-API-KEY": " " + key},
        "trailing newline": {"X-CLIENT-ID": account.client_id, "X-API-KEY": key + "\n"},
        "client id with space": {"X-CLIENT-ID": account.client_id + " ", "X-API-KEY": key},
        "sdk token instead": sdk_auth(account),
        "sdk token as api key": {
            "X-CLIENT-ID": account.client_id,
            "X-API-KEY": account.sdk_token.reveal(),
        },
        "sdk token next to valid key": {**auth(account), "X-SDK-TOKEN": account.sdk_token.reveal()},
        "client secret as key": {
            "X-CLIENT-ID": account.client_id,
            "X-API-KEY": account.client_secret.reveal(),
        },
    }


@pytest.mark.parametrize(
    "case",
    [
        "nothing", "client id only", "api key only", "wrong key", "unknown client",
        "other account's key", "trailing space", "leading space", "trailing newline",
        "client id with space", "sdk token instead", "sdk token as api key",
        "sdk token next to valid key", "client secret as key",
    ],
)  # fmt: skip
def test_api_endpoints_answer_the_documented_401(sb: Sandbox, account: SandboxAccount, case: str):
    other = sb.create_account()
    proof = sb.device_proof(NUMBER)
    body = {"mobileNumber": NUMBER, "encryptedMobileNumber": proof.encrypted_mobile_number}
    reply = call(sb, "POST", VERIFY_PATH, headers=_headers(account, other)[case], json_body=body)
    assert reply.status == 401
    assert envelope(reply) == UNAUTHORIZED
    assert sb.balance(account.client_id) == 10_000


def test_header_names_are_case_insensitive(sb: Sandbox, account: SandboxAccount):
    headers = {"x-client-id": account.client_id, "x-api-key": account.api_key.reveal()}
    assert call(sb, "GET", "/v1/api/me/products", headers=headers).status == 200


def test_a_repeated_api_key_header_is_refused(sb: Sandbox, account: SandboxAccount):
    key = account.api_key.reveal()
    request = SandboxRequest.of(
        "GET",
        "/v1/api/me/products",
        headers=[("X-CLIENT-ID", account.client_id), ("X-API-KEY", key), ("X-API-KEY", key)],
    )
    assert sb.handle(request).status == 401


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda a: auth(a), id="api key instead of sdk token"),
        pytest.param(lambda a: {**sdk_auth(a), "X-API-KEY": a.api_key.reveal()}, id="both"),
        pytest.param(lambda a: {"X-SDK-TOKEN": a.sdk_token.reveal()}, id="no client id"),
        pytest.param(
            lambda a: {"X-CLIENT-ID": a.client_id, "X-SDK-TOKEN": a.sdk_token.reveal() + " "},
            id="token with trailing space",
        ),
        pytest.param(
            lambda a: {"X-CLIENT-ID": a.client_id, "X-SDK-TOKEN": a.api_key.reveal()},
            id="api key in the sdk token header",
        ),
    ],
)
def test_sdk_session_needs_exactly_the_sdk_token(
    sb: Sandbox, account: SandboxAccount, headers: Callable[[SandboxAccount], dict[str, str]]
):
    reply = call(sb, "POST", SESSION_PATH, headers=headers(account), json_body={"mnoId": "ZAIN_JO"})
    assert reply.status == 401
    assert envelope(reply) == UNAUTHORIZED


def test_sdk_token_of_another_account_is_refused(sb: Sandbox, account: SandboxAccount):
    other = sb.create_account()
    headers = {"X-CLIENT-ID": account.client_id, "X-SDK-TOKEN": other.sdk_token.reveal()}
    assert call(sb, "POST", SESSION_PATH, headers=headers, json_body={}).status == 401
    assert call(sb, "POST", SESSION_PATH, headers=sdk_auth(account), json_body={}).status == 200


@pytest.mark.parametrize(
    "path",
    ["/v1/api/nope", "/v1/api/verify/", "/v1/api", "/", "/v2/api/verify", "/v1/api/me/products/x"],
)
def test_unknown_paths_are_404_resource_not_found(sb: Sandbox, account: SandboxAccount, path: str):
    message = failure(call(sb, "POST", path, account=account, json_body={}), 404)
    assert message["code"] == "resource_not_found"
    assert message["httpStatus"] == "NOT_FOUND"


def test_unknown_paths_are_404_even_without_credentials(sb: Sandbox):
    assert failure(call(sb, "GET", "/v1/api/nope"), 404)["code"] == "resource_not_found"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/api/verify", "POST"),
        ("DELETE", "/v1/api/me/products", "GET"),
        ("PUT", "/v1/api/me/stuck-plus/sessions/abc/reveal", "POST"),
        ("HEAD", "/v1/api/trust/score", "POST"),
    ],
)
def test_wrong_method_is_405_with_allow(
    sb: Sandbox, account: SandboxAccount, method: str, path: str, allow: str
):
    reply = call(sb, method, path, account=account)
    message = failure(reply, 405)
    assert message["httpStatus"] == "METHOD_NOT_ALLOWED"
    assert reply.header("allow") == allow


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"{not json", "application/json", "Malformed JSON request body."),
        (b'{"mobileNumber": NaN}', "application/json", "Malformed JSON request body."),
        (b"\xff\xfe", "application/json", "Malformed JSON request body."),
        (b"[1, 2]", "application/json", "Request body must be a JSON object."),
        (b'"text"', "application/json", "Request body must be a JSON object."),
        (b"", "application/json", "Required request body is missing."),
        (b'{"mobileNumber": "+962791234567"}', "text/plain", WRONG_TYPE),
        (b'{"mobileNumber": "+962791234567"}', "", WRONG_TYPE),
        (b'{"mobileNumber": 962791234567, "encryptedMobileNumber": "x"}', "application/json",
         "mobileNumber must be a string."),
        (b'{"encryptedMobileNumber": "x"}', "application/json", "mobileNumber is required."),
        (b'{"mobileNumber": "+962791234567"}', "application/json",
         "encryptedMobileNumber is required."),
        (b'{"mobileNumber": "+962791234567", "encryptedMobileNumber": ""}', "application/json",
         "encryptedMobileNumber must be between 1 and 4096 characters."),
        (b'{"mobileNumber": "+962791234567", "encryptedMobileNumber": "x", "operatorId": 7}',
         "application/json", "operatorId must be a string."),
    ],
)  # fmt: skip
def test_bad_bodies_are_400_bad_request(
    sb: Sandbox, account: SandboxAccount, body: bytes, content_type: str, message: str
):
    headers = {**auth(account), "Content-Type": content_type}
    reply = sb.handle(SandboxRequest.of("POST", VERIFY_PATH, headers=headers, body=body))
    failed = failure(reply, 400)
    assert failed["message"] == message
    assert failed["httpStatus"] == "BAD_REQUEST"
    assert sb.balance(account.client_id) == 10_000


def test_json_content_type_with_charset_is_accepted(sb: Sandbox, account: SandboxAccount):
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    body = f'{{"mobileNumber": "{NUMBER}", "encryptedMobileNumber": "{proof}"}}'.encode()
    headers = {**auth(account), "Content-Type": "Application/JSON; charset=utf-8"}
    reply = sb.handle(SandboxRequest.of("POST", VERIFY_PATH, headers=headers, body=body))
    assert data(reply) == {"validNumber": True}


def test_unknown_body_fields_are_ignored(sb: Sandbox, account: SandboxAccount):
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    reply = verify(sb, account, NUMBER, proof, clientId="legacy", extra="x")
    assert data(reply) == {"validNumber": True}


def test_oversized_bodies_are_413(sb: Sandbox, account: SandboxAccount):
    body = b'{"x": "' + b"a" * MAX_BODY_BYTES + b'"}'
    headers = {**auth(account), "Content-Type": "application/json"}
    reply = sb.handle(SandboxRequest.of("POST", VERIFY_PATH, headers=headers, body=body))
    assert failure(reply, 413)["httpStatus"] == "PAYLOAD_TOO_LARGE"


def test_seen_requests_hold_fingerprints_never_values(sb: Sandbox, account: SandboxAccount):
    call(sb, "GET", "/v1/api/me/products", account=account)
    call(sb, "POST", SESSION_PATH, headers=sdk_auth(account), json_body={})
    call(sb, "GET", "/v1/api/me/products", headers={"X-CLIENT-ID": "cl_x", "X-API-KEY": "bad"})
    first, second, third = sb.requests
    assert (first.method, first.path, first.status) == ("GET", "/v1/api/me/products", 200)
    assert first.client_id == account.client_id
    assert first.api_key_fingerprint == account.api_key.fingerprint
    assert first.sdk_token_fingerprint is None
    assert first.at == 1000.0
    assert not first.faulted
    assert second.sdk_token_fingerprint == account.sdk_token.fingerprint
    assert second.api_key_fingerprint is None
    assert (third.status, third.client_id) == (401, "cl_x")
    assert third.api_key_fingerprint == Secret("bad").fingerprint
    text = repr(sb.requests)
    for secret in (account.api_key, account.sdk_token, account.client_secret):
        assert secret.reveal() not in text
    sb.reset_requests()
    assert sb.requests == ()


def test_sandbox_request_helpers():
    request = SandboxRequest.of(
        "post", "/p", query=[("a", "1"), ("a", "2")], headers={"X-Thing": "v"}, body=b"x"
    )
    assert request.method == "POST"
    assert request.headers == (("x-thing", "v"),)
    assert request.header("X-THING") == "v"
    assert request.header("missing") is None
    assert request.query_value("a") == "1"
    assert request.query_value("b") is None
