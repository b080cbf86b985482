"""Verify, web verify, SDK sessions, products and balance, through the sans-IO core."""

from __future__ import annotations

import base64
import re

import pytest
from sandbox_helpers import NUMBER, OTHER_NUMBER, call, data, failure, sdk_auth, verify

from authmatech.sandbox import (
    ALL_PRODUCTS,
    CONNECT,
    DETECT,
    SHIELD,
    STUCK_PLUS,
    TRUST,
    VERIFY,
    VERIFY_N_PLUS,
    Sandbox,
    SandboxAccount,
)


def test_product_names():
    assert (VERIFY, VERIFY_N_PLUS, TRUST, SHIELD, DETECT, STUCK_PLUS, CONNECT) == (
        "VERIFY", "VERIFY_N_PLUS", "TRUST", "SHIELD", "DETECT", "STUCK_PLUS", "CONNECT",
    )  # fmt: skip
    assert len(ALL_PRODUCTS) == 7


def test_proof_for_the_number_is_valid(sb: Sandbox, account: SandboxAccount):
    proof = sb.device_proof(NUMBER)
    assert proof.operator_id == "ZAIN_JO"
    assert data(verify(sb, account, NUMBER, proof.encrypted_mobile_number)) == {"validNumber": True}


def test_proof_for_another_number_is_a_negative_verdict(sb: Sandbox, account: SandboxAccount):
    proof = sb.device_proof(OTHER_NUMBER)
    reply = verify(sb, account, NUMBER, proof.encrypted_mobile_number)
    assert data(reply) == {"validNumber": False}


def test_unknown_proof_is_a_negative_verdict(sb: Sandbox, account: SandboxAccount):
    other_sandbox_proof = Sandbox(seed=99).device_proof(NUMBER).encrypted_mobile_number
    assert data(verify(sb, account, NUMBER, other_sandbox_proof)) == {"validNumber": False}
    assert data(verify(sb, account, NUMBER, "BASE64_ENCRYPTED_BLOB_FROM_SDK")) == {
        "validNumber": False
    }


def test_operator_must_match_when_sent(sb: Sandbox, account: SandboxAccount):
    proof = sb.device_proof(NUMBER, "ORANGE_JO").encrypted_mobile_number
    assert data(verify(sb, account, NUMBER, proof, operatorId="ORANGE_JO"))["validNumber"] is True
    assert data(verify(sb, account, NUMBER, proof, operatorId="ZAIN_JO"))["validNumber"] is False
    assert data(verify(sb, account, NUMBER, proof))["validNumber"] is True


def test_url_encoded_proof_does_not_match(sb: Sandbox, account: SandboxAccount):
    tokens = (sb.device_proof(NUMBER).encrypted_mobile_number for _ in range(100))
    token = next(t for t in tokens if "+" in t or "/" in t)  # one URL-encoding changes
    encoded = token.replace("+", "%2B").replace("/", "%2F")
    assert data(verify(sb, account, NUMBER, encoded))["validNumber"] is False
    assert data(verify(sb, account, NUMBER, token))["validNumber"] is True


def test_proofs_look_like_base64_and_are_unguessable(sb: Sandbox):
    tokens = {sb.device_proof(NUMBER).encrypted_mobile_number for _ in range(20)}
    assert len(tokens) == 20
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9+/]{64}", token)
        assert len(base64.b64decode(token)) == 48
        assert NUMBER.lstrip("+") not in token
    assert Sandbox(seed=5).device_proof(NUMBER) == Sandbox(seed=5).device_proof(NUMBER)
    assert Sandbox().device_proof(NUMBER) != Sandbox().device_proof(NUMBER)


@pytest.mark.parametrize(
    "bad", ["0791234567", "962791234567", "+962 79 123 4567", "+966-51-2345678"]
)
def test_fixtures_refuse_numbers_that_are_not_e164(sb: Sandbox, bad: str):
    with pytest.raises(ValueError, match=r"E\.164"):
        sb.device_proof(bad)
    with pytest.raises(ValueError, match=r"E\.164"):
        sb.web_transaction(bad)


@pytest.mark.parametrize(
    "bad",
    [
        "0791234567", "962791234567", "+971 50 123 4567", "+966-51-2345678", "+(962)791234567",
        "+0791234567", "+12345", "+1234567890123456", "", "+96279123456a", "+962791234567\n",
    ],
)  # fmt: skip
def test_invalid_numbers_are_400_invalid_mobile_number(
    sb: Sandbox, account: SandboxAccount, bad: str
):
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    message = failure(verify(sb, account, bad, proof), 400)
    assert message["code"] == "INVALID_MOBILE_NUMBER"
    assert message["httpStatus"] == "BAD_REQUEST"
    assert sb.balance(account.client_id) == 10_000


@pytest.mark.parametrize("good", ["+1234567", "+123456789012345", "+971501234567"])
def test_e164_bounds_are_accepted(sb: Sandbox, account: SandboxAccount, good: str):
    assert data(verify(sb, account, good, "unknown"))["validNumber"] is False


def test_mask_mobile_keeps_the_last_two_digits(sb: Sandbox, account: SandboxAccount):
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    assert data(verify(sb, account, NUMBER, proof, mask=True)) == {
        "validNumber": True,
        "mobileNumber": "***********67",
    }


def test_mask_mobile_on_a_negative_verdict_masks_the_proofs_number(
    sb: Sandbox, account: SandboxAccount
):
    proof = sb.device_proof(OTHER_NUMBER).encrypted_mobile_number
    assert data(verify(sb, account, NUMBER, proof, mask=True)) == {
        "validNumber": False,
        "mobileNumber": "***********22",
    }
    assert data(verify(sb, account, NUMBER, "unknown", mask=True)) == {
        "validNumber": False,
        "mobileNumber": None,
    }


@pytest.mark.parametrize(("value", "masked"), [("True", True), ("1", True), ("false", False)])
def test_mask_mobile_spellings(sb: Sandbox, account: SandboxAccount, value: str, masked: bool):
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    body = {"mobileNumber": NUMBER, "encryptedMobileNumber": proof}
    reply = call(
        sb, "POST", "/v1/api/verify", account=account, json_body=body, query={"maskMobile": value}
    )
    assert ("mobileNumber" in data(reply)) is masked


def test_mask_mobile_must_be_a_boolean(sb: Sandbox, account: SandboxAccount):
    body = {"mobileNumber": NUMBER, "encryptedMobileNumber": "x"}
    reply = call(
        sb, "POST", "/v1/api/verify", account=account, json_body=body, query={"maskMobile": "maybe"}
    )
    assert failure(reply, 400)["message"] == "Query parameter maskMobile must be true or false."


def test_mask_mobile_needs_verify_n_plus(sb: Sandbox):
    account = sb.create_account(products=[VERIFY])
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    message = failure(verify(sb, account, NUMBER, proof, mask=True), 400)
    assert message["message"] == "Product VERIFY_N_PLUS is not enabled for this account."
    assert sb.balance(account.client_id) == 10_000
    assert data(verify(sb, account, NUMBER, proof)) == {"validNumber": True}


@pytest.mark.parametrize(
    "service", ["REGISTRATION", "LOGIN", "RESET_PASS", "UPDATE_DETAILS", "TRANSACTION"]
)
def test_documented_service_types_are_accepted(sb: Sandbox, account: SandboxAccount, service: str):
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    assert data(verify(sb, account, NUMBER, proof, serviceType=service))["validNumber"] is True


def test_a_service_type_not_in_upper_snake_case_is_400(sb: Sandbox, account: SandboxAccount):
    message = failure(verify(sb, account, NUMBER, "x", serviceType="login"), 400)
    assert message["message"].startswith("serviceType must be one of")


def test_a_service_type_authmatech_may_add_is_accepted(sb: Sandbox, account: SandboxAccount):
    assert data(verify(sb, account, NUMBER, "x", serviceType="CHECKOUT")) == {"validNumber": False}


def test_web_verify(sb: Sandbox, account: SandboxAccount):
    transaction = sb.web_transaction(NUMBER)
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", transaction
    )
    path = f"/v1/api/verify/{transaction}"
    body = {"mobileNumber": NUMBER, "serviceType": "LOGIN"}
    assert data(call(sb, "POST", path, account=account, json_body=body)) == {"validNumber": True}
    other = {"mobileNumber": OTHER_NUMBER}
    assert data(call(sb, "POST", path, account=account, json_body=other)) == {"validNumber": False}
    masked = call(sb, "POST", path, account=account, json_body=other, query={"maskMobile": "true"})
    assert data(masked) == {"validNumber": False, "mobileNumber": "***********67"}
    assert sb.balance(account.client_id) == 10_000 - 3


def test_web_verify_unknown_transaction_is_404(sb: Sandbox, account: SandboxAccount):
    path = "/v1/api/verify/8a0c3f9e-1111-4222-8333-444455556666"
    message = failure(
        call(sb, "POST", path, account=account, json_body={"mobileNumber": NUMBER}), 404
    )
    assert message["code"] == "resource_not_found"
    assert sb.balance(account.client_id) == 10_000


def test_web_verify_validates_the_number(sb: Sandbox, account: SandboxAccount):
    path = f"/v1/api/verify/{sb.web_transaction(NUMBER)}"
    reply = call(sb, "POST", path, account=account, json_body={"mobileNumber": "0791234567"})
    assert failure(reply, 400)["code"] == "INVALID_MOBILE_NUMBER"
    reply = call(sb, "POST", path, account=account, json_body={})
    assert failure(reply, 400)["message"] == "mobileNumber is required."


@pytest.mark.parametrize(
    ("path", "product"),
    [
        ("/v1/api/verify", VERIFY),
        ("/v1/api/trust/score", TRUST),
        ("/v1/api/shield/assess", SHIELD),
        ("/v1/api/detect/analyze", DETECT),
        ("/v1/api/me/stuck-plus/overview", STUCK_PLUS),
        ("/v1/api/me/stuck-plus/backfill", STUCK_PLUS),
        ("/v1/api/me/connect/integrations", CONNECT),
        ("/v1/api/me/connect/import/start", CONNECT),
    ],
)
def test_products_not_enabled_are_400(sb: Sandbox, path: str, product: str):
    account = sb.create_account(products=ALL_PRODUCTS - {product})
    method = "GET" if path.endswith("overview") else "POST"
    body = {"mobileNumber": NUMBER, "encryptedMobileNumber": "x"} if method == "POST" else None
    message = failure(call(sb, method, path, account=account, json_body=body), 400)
    assert message["message"] == f"Product {product} is not enabled for this account."
    assert "not enabled" in message["message"]
    assert sb.balance(account.client_id) == 10_000


def test_web_verify_needs_verify(sb: Sandbox):
    account = sb.create_account(products=[TRUST])
    path = f"/v1/api/verify/{sb.web_transaction(NUMBER)}"
    reply = call(sb, "POST", path, account=account, json_body={"mobileNumber": NUMBER})
    assert "Product VERIFY is not enabled" in failure(reply, 400)["message"]


def test_billing_counts_every_answer_including_negative_verdicts(sb: Sandbox):
    account = sb.create_account(balance=3)
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    assert data(verify(sb, account, NUMBER, proof))["validNumber"] is True
    assert data(verify(sb, account, OTHER_NUMBER, proof))["validNumber"] is False
    assert sb.balance(account.client_id) == 1
    failure(verify(sb, account, "bad", proof), 400)
    assert sb.balance(account.client_id) == 1
    assert data(verify(sb, account, NUMBER, proof))["validNumber"] is True
    assert sb.balance(account.client_id) == 0
    message = failure(verify(sb, account, NUMBER, proof), 400)
    assert message["message"] == "Insufficient balance."
    assert "balance" in message["message"]
    assert sb.balance(account.client_id) == 0


def test_validation_comes_before_the_balance_check(sb: Sandbox):
    account = sb.create_account(balance=0)
    assert failure(verify(sb, account, "bad", "x"), 400)["code"] == "INVALID_MOBILE_NUMBER"
    assert failure(verify(sb, account, NUMBER, "x"), 400)["message"] == "Insufficient balance."


def test_non_billable_calls_work_with_an_empty_balance(sb: Sandbox):
    account = sb.create_account(balance=0)
    assert data(call(sb, "GET", "/v1/api/me/products", account=account))["products"]
    reply = call(sb, "POST", "/v1/api/sdk/session", headers=sdk_auth(account), json_body={})
    assert "sdkSessionId" in data(reply)


def test_sdk_session_echoes_or_generates_the_id(sb: Sandbox, account: SandboxAccount):
    body = {
        "sdkSessionId": "b1f2c3d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "mnoId": "ZAIN_JO",
        "authmatechCodePresent": True,
        "authmatechCodeHash": "abc123",
        "deviceContext": {
            "deviceIdHash": "dev-1", "installationIdHash": "inst-1", "platform": "android",
            "osVersion": "14", "appVersion": "3.2.1", "deviceModel": "Pixel 8",
            "manufacturer": "Google", "sdkVersion": "1.1.0", "userAgent": "ua",
        },
    }  # fmt: skip
    reply = call(sb, "POST", "/v1/api/sdk/session", headers=sdk_auth(account), json_body=body)
    assert data(reply) == {"sdkSessionId": "b1f2c3d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d"}
    reply = call(sb, "POST", "/v1/api/sdk/session", headers=sdk_auth(account), json_body={})
    generated = data(reply)["sdkSessionId"]
    assert re.fullmatch(r"[0-9a-f-]{36}", generated)
    assert sb.balance(account.client_id) == 10_000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"authmatechCodePresent": "yes"}, "authmatechCodePresent must be a boolean."),
        ({"mnoId": 1}, "mnoId must be a string."),
        ({"deviceContext": "x"}, "deviceContext must be an object."),
        ({"deviceContext": {"platform": 3}}, "deviceContext.platform must be a string."),
        ({"sdkSessionId": ""}, "sdkSessionId must be between 1 and 128 characters."),
    ],
)
def test_sdk_session_body_types(sb: Sandbox, account: SandboxAccount, body: object, message: str):
    reply = call(sb, "POST", "/v1/api/sdk/session", headers=sdk_auth(account), json_body=body)
    assert failure(reply, 400)["message"] == message


def test_create_account_validates(sb: Sandbox):
    with pytest.raises(ValueError, match="unknown products"):
        sb.create_account(products=["VERIFY", "TRUSTT"])
    with pytest.raises(TypeError):
        sb.create_account(products="VERIFY")
    with pytest.raises(ValueError, match="balance"):
        sb.create_account(balance=-1)
    with pytest.raises(ValueError, match="rate_limit"):
        sb.create_account(rate_limit_per_minute=0)
    assert sb.create_account(products=[]).products == frozenset()
    assert sb.create_account().products == ALL_PRODUCTS


def test_account_values_and_lookups(sb: Sandbox, account: SandboxAccount):
    assert account.client_id.startswith("cl_sbx_")
    assert len({account.api_key, account.client_secret, account.sdk_token}) == 3
    for secret in (account.api_key, account.client_secret, account.sdk_token):
        assert secret.reveal() not in repr(account)
        assert secret.reveal() == secret.reveal().strip()
    assert sb.api_key_fingerprint(account.client_id) == account.api_key.fingerprint
    with pytest.raises(KeyError):
        sb.balance("cl_sbx_nobody")
    with pytest.raises(KeyError):
        sb.api_key_fingerprint("cl_sbx_nobody")
