"""Over HTTP the sandbox mints device proofs and web transactions for any number (sandbox-only
routes), pages its lists with Spring's ``page``/``size``, and dates things in wall-clock time."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import httpx
import pytest
from sandbox_helpers import NUMBER, OTHER_NUMBER, auth, call, data, failure, verify

from authmatech.sandbox import Sandbox, SandboxAccount, ServerThread
from authmatech.sandbox._mint import MAX_MINTED

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _mint_proof(sb: Sandbox, account: SandboxAccount, number: str, **extra: str) -> dict:
    reply = call(
        sb, "POST", "/sandbox/device-proofs", account=account,
        json_body={"mobileNumber": number, **extra},
    )  # fmt: skip
    assert reply.status == 201
    return data(reply, status=201)


def test_a_proof_minted_over_http_verifies_its_number_only(
    sb: Sandbox, account: SandboxAccount
) -> None:
    minted = _mint_proof(sb, account, OTHER_NUMBER, operatorId="ORANGE_JO")
    assert minted["mobileNumber"] == OTHER_NUMBER
    assert minted["operatorId"] == "ORANGE_JO"
    proof = minted["encryptedMobileNumber"]
    assert data(verify(sb, account, OTHER_NUMBER, proof, operatorId="ORANGE_JO")) == {
        "validNumber": True
    }
    assert data(verify(sb, account, NUMBER, proof)) == {"validNumber": False}


def test_a_web_transaction_minted_over_http(sb: Sandbox, account: SandboxAccount) -> None:
    reply = call(
        sb, "POST", "/sandbox/web-transactions", account=account,
        json_body={"mobileNumber": OTHER_NUMBER},
    )  # fmt: skip
    transaction = data(reply, status=201)["transactionId"]
    path = f"/v1/api/verify/{transaction}"
    answer = call(sb, "POST", path, account=account, json_body={"mobileNumber": OTHER_NUMBER})
    assert data(answer) == {"validNumber": True}


def test_minting_needs_credentials_and_a_valid_number(sb: Sandbox, account: SandboxAccount):
    refused = call(sb, "POST", "/sandbox/device-proofs", json_body={"mobileNumber": NUMBER})
    assert refused.status == 401
    bad = call(
        sb, "POST", "/sandbox/device-proofs", account=account, json_body={"mobileNumber": "079"}
    )
    assert failure(bad, 400)["code"] == "INVALID_MOBILE_NUMBER"
    assert sb.balance(account.client_id) == 10_000  # not billed


def test_minted_values_are_bounded(sb: Sandbox) -> None:
    first = sb.device_proof(NUMBER).encrypted_mobile_number
    for _ in range(MAX_MINTED):
        sb.device_proof(NUMBER)
    account = sb.create_account()
    assert data(verify(sb, account, NUMBER, first)) == {"validNumber": False}  # forgotten


def test_the_served_sandbox_mints_for_any_number(account: SandboxAccount, sb: Sandbox) -> None:
    with ServerThread(sb) as server, httpx.Client(base_url=server.url) as http:
        minted = http.post(
            "/sandbox/device-proofs", headers=auth(account), json={"mobileNumber": OTHER_NUMBER}
        )
        proof = minted.json()["data"]["encryptedMobileNumber"]
        verdict = http.post(
            "/v1/api/verify",
            headers=auth(account),
            json={"mobileNumber": OTHER_NUMBER, "encryptedMobileNumber": proof},
        )
    assert verdict.json()["data"] == {"validNumber": True}


def _history(sb: Sandbox, account: SandboxAccount, **query: str) -> dict:
    return data(call(sb, "GET", "/v1/api/me/verifications", account=account, query=query))


def test_list_endpoints_honour_page_and_size(sb: Sandbox, account: SandboxAccount) -> None:
    for _ in range(5):
        verify(sb, account, NUMBER, "unknown")
    everything = _history(sb, account)
    assert (len(everything["verifications"]), everything["total"]) == (5, 5)
    assert "page" not in everything
    second = _history(sb, account, page="1", size="2")
    assert second["verifications"] == everything["verifications"][2:4]
    assert (second["page"], second["size"], second["total"], second["totalPages"]) == (1, 2, 5, 3)
    assert _history(sb, account, page="3", size="2")["verifications"] == []
    assert _history(sb, account, page="0")["size"] == 20
    balance = call(sb, "GET", "/v1/api/me/balance-history", account=account, query={"size": "1"})
    assert len(data(balance)["entries"]) == 1
    sessions = call(sb, "GET", "/v1/api/me/stuck-plus/sessions", account=account,
                    query={"size": "2"})  # fmt: skip
    assert (len(data(sessions)["sessions"]), data(sessions)["total"]) == (2, 5)
    reveals = call(sb, "GET", "/v1/api/me/stuck-plus/reveals", account=account,
                   query={"page": "0"})  # fmt: skip
    assert data(reveals)["page"] == 0


@pytest.mark.parametrize(
    ("name", "value"), [("page", "-1"), ("page", "x"), ("size", "0"), ("size", "1001")]
)
def test_bad_paging_parameters_are_400(
    sb: Sandbox, account: SandboxAccount, name: str, value: str
) -> None:
    reply = call(sb, "GET", "/v1/api/me/verifications", account=account, query={name: value})
    assert failure(reply, 400)["message"].startswith(f"Query parameter {name} must be")


def test_timestamps_are_wall_clock_times() -> None:
    sb = Sandbox()
    account = sb.create_account()
    verify(sb, account, NUMBER, "unknown")
    [entry] = data(call(sb, "GET", "/v1/api/me/verifications", account=account))["verifications"]
    assert ISO.fullmatch(entry["timestamp"])
    when = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
    assert abs((datetime.now(timezone.utc) - when).total_seconds()) < 3600
    session = data(call(sb, "GET", "/v1/api/me/stuck-plus/sessions", account=account))
    assert ISO.fullmatch(session["sessions"][0]["openedAt"])


def test_the_wall_clock_can_be_injected() -> None:
    sb = Sandbox(wall=lambda: 1_800_000_000.25)
    account = sb.create_account()
    history = data(call(sb, "GET", "/v1/api/me/balance-history", account=account))
    assert history["entries"][0]["timestamp"] == "2027-01-15T08:00:00.250Z"
