"""Key rotation and generation, and the client-portal reads."""

from __future__ import annotations

import pytest
from sandbox_helpers import (
    NUMBER,
    OTHER_NUMBER,
    UNAUTHORIZED,
    FakeClock,
    call,
    data,
    envelope,
    failure,
    verify,
)

from authmatech.credentials import Secret
from authmatech.sandbox import TRUST, VERIFY, Sandbox, SandboxAccount


def _with_key(account: SandboxAccount, key: str) -> dict[str, str]:
    return {"X-CLIENT-ID": account.client_id, "X-API-KEY": key}


def _rotation_paths(account: SandboxAccount) -> list[str]:
    return [
        "/v1/api/clients/rotate-key",
        "/v1/api/me/api-key/rotate",
        f"/v1/api/clients/{account.client_id}/rotate-key",
    ]


@pytest.mark.parametrize("which", [0, 1, 2])
def test_rotation_replaces_the_key_at_once(sb: Sandbox, account: SandboxAccount, which: int):
    path = _rotation_paths(account)[which]
    body = {"secretKey": account.client_secret.reveal()}
    new_key = data(call(sb, "POST", path, account=account, json_body=body))["newApiKey"]
    assert isinstance(new_key, str)
    assert new_key.startswith("ak_sbx_")
    assert new_key != account.api_key.reveal()
    assert sb.api_key_fingerprint(account.client_id) == Secret(new_key).fingerprint
    old = call(sb, "GET", "/v1/api/me/products", account=account)
    assert old.status == 401
    assert envelope(old) == UNAUTHORIZED
    new = call(sb, "GET", "/v1/api/me/products", headers=_with_key(account, new_key))
    assert new.status == 200
    assert new_key not in repr(sb.requests)


@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"secretKey": "cs_sbx_wrong"}, "Invalid client secret."),
        ({}, "secretKey is required."),
        ({"secretKey": ""}, "secretKey is required."),
        (None, "secretKey is required."),
    ],
)
def test_rotation_with_a_wrong_or_missing_secret_changes_nothing(
    sb: Sandbox, account: SandboxAccount, which: int, body: object, message: str
):
    path = _rotation_paths(account)[which]
    reply = call(sb, "POST", path, account=account, json_body=body)
    failed = failure(reply, 400)
    assert failed["message"] == message
    assert failed["httpStatus"] == "BAD_REQUEST"
    assert sb.api_key_fingerprint(account.client_id) == account.api_key.fingerprint
    assert call(sb, "GET", "/v1/api/me/products", account=account).status == 200


def test_secret_with_whitespace_is_wrong(sb: Sandbox, account: SandboxAccount):
    body = {"secretKey": account.client_secret.reveal() + " "}
    reply = call(sb, "POST", "/v1/api/me/api-key/rotate", account=account, json_body=body)
    assert failure(reply, 400)["message"] == "Invalid client secret."


def test_rotation_needs_the_api_key_too(sb: Sandbox, account: SandboxAccount):
    body = {"secretKey": account.client_secret.reveal()}
    headers = {"X-CLIENT-ID": account.client_id}
    assert (
        call(sb, "POST", "/v1/api/me/api-key/rotate", headers=headers, json_body=body).status == 401
    )


def test_dashboard_rotation_of_another_client_is_404(sb: Sandbox, account: SandboxAccount):
    other = sb.create_account()
    body = {"secretKey": account.client_secret.reveal()}
    path = f"/v1/api/clients/{other.client_id}/rotate-key"
    message = failure(call(sb, "POST", path, account=account, json_body=body), 404)
    assert (message["message"], message["code"]) == ("Client not found.", "resource_not_found")
    assert sb.api_key_fingerprint(other.client_id) == other.api_key.fingerprint
    assert sb.api_key_fingerprint(account.client_id) == account.api_key.fingerprint


def test_generate_answers_201_created(sb: Sandbox, account: SandboxAccount):
    body = {"secretKey": account.client_secret.reveal()}
    reply = call(sb, "POST", "/v1/api/me/api-key/generate", account=account, json_body=body)
    key = data(reply, status=201)["apiKey"]
    assert reply.status == 201
    assert call(sb, "GET", "/v1/api/me/products", account=account).status == 401
    assert call(sb, "GET", "/v1/api/me/products", headers=_with_key(account, key)).status == 200
    wrong = call(
        sb, "POST", "/v1/api/me/api-key/generate", headers=_with_key(account, key), json_body={}
    )
    assert failure(wrong, 400)["message"] == "secretKey is required."


def test_rotations_chain(sb: Sandbox, account: SandboxAccount):
    key = account.api_key.reveal()
    body = {"secretKey": account.client_secret.reveal()}
    for _ in range(3):
        reply = call(
            sb, "POST", "/v1/api/me/api-key/rotate", headers=_with_key(account, key), json_body=body
        )
        key = data(reply)["newApiKey"]
    assert sb.api_key_fingerprint(account.client_id) == Secret(key).fingerprint


def test_me_products(sb: Sandbox):
    account = sb.create_account(products=[VERIFY, TRUST])
    assert data(call(sb, "GET", "/v1/api/me/products", account=account)) == {
        "products": ["TRUST", "VERIFY"]
    }


def test_me_usage_counts_successful_calls(sb: Sandbox, account: SandboxAccount):
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    verify(sb, account, NUMBER, proof)
    verify(sb, account, OTHER_NUMBER, proof)
    verify(sb, account, "bad", proof)
    call(sb, "GET", "/v1/api/me/products", account=account)
    usage = data(call(sb, "GET", "/v1/api/me/usage", account=account))
    assert usage == {
        "balance": 9_998,
        "totalRequests": 3,
        "byEndpoint": {"GET /v1/api/me/products": 1, "POST /v1/api/verify": 2},
        "verifications": 2,
        "validNumbers": 1,
    }


def test_me_verifications_show_masked_numbers_only(sb: Sandbox, account: SandboxAccount):
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    verify(sb, account, NUMBER, proof, serviceType="LOGIN", sdkSessionId="sess-1")
    call(sb, "POST", f"/v1/api/verify/{sb.web_transaction(NUMBER)}", account=account,
         json_body={"mobileNumber": OTHER_NUMBER})  # fmt: skip
    reply = call(sb, "GET", "/v1/api/me/verifications", account=account, query={"page": "0"})
    history = data(reply)
    assert history["total"] == 2
    first, second = history["verifications"]
    assert first["mobileNumber"] == "***********67"
    assert (first["validNumber"], first["channel"], first["serviceType"]) == (
        True,
        "DIRECT",
        "LOGIN",
    )
    assert first["sdkSessionId"] == "sess-1"
    assert (second["mobileNumber"], second["channel"], second["validNumber"]) == (
        "***********22", "WEB", False,
    )  # fmt: skip
    assert NUMBER not in reply.body.decode()
    assert NUMBER.lstrip("+") not in reply.body.decode()


AT_1000 = "1970-01-01T00:16:40.000Z"  # the fake clock's start, as wall-clock time
AT_1002 = "1970-01-01T00:16:42.000Z"


def test_me_balance_history(sb: Sandbox, clock: FakeClock):
    account = sb.create_account(balance=5)
    clock.advance(2)
    verify(sb, account, NUMBER, sb.device_proof(NUMBER).encrypted_mobile_number)
    history = data(call(sb, "GET", "/v1/api/me/balance-history", account=account))
    assert history == {
        "balance": 4,
        "entries": [
            {"delta": 5, "balanceAfter": 5, "reason": "INITIAL_CREDIT", "timestamp": AT_1000},
            {"delta": -1, "balanceAfter": 4, "reason": "VERIFY", "timestamp": AT_1002},
        ],
        "total": 2,
    }
