"""Stuck+ sessions and reveals, and the Connect endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_helpers import NUMBER, OTHER_NUMBER, call, data, failure, verify

from authmatech.sandbox import ALL_PRODUCTS, STUCK_PLUS, Sandbox, SandboxAccount

STUCK = "/v1/api/me/stuck-plus"


def _open_session(sb: Sandbox, account: SandboxAccount, proof: str) -> dict[str, Any]:
    assert data(verify(sb, account, NUMBER, proof, serviceType="LOGIN"))["validNumber"] is False
    [session] = data(call(sb, "GET", f"{STUCK}/sessions", account=account))["sessions"]
    return dict(session)


def test_negative_verdict_opens_a_session_with_masked_number(sb: Sandbox, account: SandboxAccount):
    session = _open_session(sb, account, sb.device_proof(OTHER_NUMBER).encrypted_mobile_number)
    session_id = session.pop("sessionId")
    assert session == {
        "status": "OPEN",
        "mobileNumber": "***********67",
        "channel": "DIRECT",
        "serviceType": "LOGIN",
        "openedAt": "1970-01-01T00:16:40.000Z",
        "hasConfirmedIdentity": True,
    }
    journey = data(call(sb, "GET", f"{STUCK}/sessions/{session_id}/journey", account=account))
    assert journey["events"] == [
        {"event": "VERIFY_FAILED", "channel": "DIRECT", "timestamp": "1970-01-01T00:16:40.000Z"}
    ]
    overview = data(call(sb, "GET", f"{STUCK}/overview", account=account))
    assert overview == {
        "totalSessions": 1,
        "byStatus": {"OPEN": 1, "REVEALED": 0},
        "withConfirmedIdentity": 1,
        "reveals": 0,
    }


def test_positive_verdict_opens_no_session(sb: Sandbox, account: SandboxAccount):
    verify(sb, account, NUMBER, sb.device_proof(NUMBER).encrypted_mobile_number)
    assert data(call(sb, "GET", f"{STUCK}/sessions", account=account)) == {
        "sessions": [],
        "total": 0,
    }


def test_reveal_returns_the_confirmed_number_bills_and_audits(sb: Sandbox, account: SandboxAccount):
    session = _open_session(sb, account, sb.device_proof(OTHER_NUMBER).encrypted_mobile_number)
    before = sb.balance(account.client_id)
    path = f"{STUCK}/sessions/{session['sessionId']}/reveal"
    revealed = data(call(sb, "POST", path, account=account))
    assert revealed == {
        "sessionId": session["sessionId"],
        "mobileNumber": OTHER_NUMBER,
        "revealedAt": "1970-01-01T00:16:40.000Z",
    }
    assert sb.balance(account.client_id) == before - 1
    audit = data(call(sb, "GET", f"{STUCK}/reveals", account=account))
    assert audit == {
        "reveals": [
            {
                "sessionId": session["sessionId"],
                "outcome": "REVEALED",
                "mobileNumber": "***********22",
                "clientId": account.client_id,
                "apiKeyFingerprint": account.api_key.fingerprint,
                "timestamp": "1970-01-01T00:16:40.000Z",
            }
        ],
        "total": 1,
    }
    listed = data(
        call(sb, "GET", f"{STUCK}/sessions", account=account, query={"status": "revealed"})
    )
    assert [s["status"] for s in listed["sessions"]] == ["REVEALED"]
    reset = data(
        call(sb, "POST", f"{STUCK}/sessions/{session['sessionId']}/reset", account=account)
    )
    assert reset["status"] == "OPEN"
    events = data(
        call(sb, "GET", f"{STUCK}/sessions/{session['sessionId']}/journey", account=account)
    )
    assert [e["event"] for e in events["events"]] == ["VERIFY_FAILED", "REVEALED", "RESET"]


def test_reveal_without_identity_is_refused_unbilled_but_audited(
    sb: Sandbox, account: SandboxAccount
):
    session = _open_session(sb, account, "unknown-proof")
    assert session["hasConfirmedIdentity"] is False
    before = sb.balance(account.client_id)
    path = f"{STUCK}/sessions/{session['sessionId']}/reveal"
    message = failure(call(sb, "POST", path, account=account), 400)
    assert message["message"] == "Session has no confirmed mobile identity to reveal."
    assert sb.balance(account.client_id) == before
    [entry] = data(call(sb, "GET", f"{STUCK}/reveals", account=account))["reveals"]
    assert (entry["outcome"], entry["mobileNumber"]) == ("NO_CONFIRMED_IDENTITY", None)


def test_reveal_with_an_empty_balance(sb: Sandbox):
    account = sb.create_account(balance=1)
    session = _open_session(sb, account, sb.device_proof(OTHER_NUMBER).encrypted_mobile_number)
    path = f"{STUCK}/sessions/{session['sessionId']}/reveal"
    assert (
        failure(call(sb, "POST", path, account=account), 400)["message"] == "Insufficient balance."
    )
    [entry] = data(call(sb, "GET", f"{STUCK}/reveals", account=account))["reveals"]
    assert entry["outcome"] == "INSUFFICIENT_BALANCE"


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", "journey"), ("POST", "reveal"), ("POST", "reset")]
)
def test_unknown_sessions_are_404(sb: Sandbox, account: SandboxAccount, method: str, suffix: str):
    reply = call(sb, method, f"{STUCK}/sessions/nope/{suffix}", account=account)
    assert failure(reply, 404)["code"] == "resource_not_found"


def test_sessions_of_another_account_are_invisible(sb: Sandbox, account: SandboxAccount):
    session = _open_session(sb, account, "unknown-proof")
    other = sb.create_account()
    reply = call(sb, "POST", f"{STUCK}/sessions/{session['sessionId']}/reveal", account=other)
    assert reply.status == 404


def test_no_session_without_stuck_plus(sb: Sandbox):
    account = sb.create_account(products=ALL_PRODUCTS - {STUCK_PLUS})
    verify(sb, account, NUMBER, "unknown-proof")
    assert call(sb, "GET", f"{STUCK}/sessions", account=account).status == 400


def test_backfill(sb: Sandbox, account: SandboxAccount):
    _open_session(sb, account, "unknown-proof")
    reply = call(sb, "POST", f"{STUCK}/backfill", account=account, json_body={"from": "2025-01-01"})
    assert data(reply) == {"recovered": 0, "totalSessions": 1}
    assert data(call(sb, "POST", f"{STUCK}/backfill", account=account))["recovered"] == 0


CONNECT = "/v1/api/me/connect"


def test_connect_import_start(sb: Sandbox, account: SandboxAccount):
    body = {"jobId": "job-1", "fieldMappings": {"phone": "mobileNumber", "name": "fullName"}}
    reply = call(sb, "POST", f"{CONNECT}/import/start", account=account, json_body=body)
    assert data(reply) == {"jobId": "job-1", "status": "STARTED", "mappedFields": 2}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"jobId": "job-1"}, "fieldMappings is required."),
        ({"jobId": "job-1", "fieldMappings": ["phone"]}, "fieldMappings is required."),
        (
            {"jobId": "job-1", "fieldMappings": {"a": 1}},
            "fieldMappings must map field names to field names.",
        ),
        ({"fieldMappings": {}}, "jobId is required."),
        ({"jobId": "", "fieldMappings": {}}, "jobId must be between 1 and 128 characters."),
    ],
)
def test_connect_import_validation(
    sb: Sandbox, account: SandboxAccount, body: object, message: str
):
    reply = call(sb, "POST", f"{CONNECT}/import/start", account=account, json_body=body)
    assert failure(reply, 400)["message"] == message


def test_connect_integration_never_returns_the_api_key(sb: Sandbox, account: SandboxAccount):
    body = {
        "displayName": "My CRM",
        "integrationType": "WEBHOOK",
        "endpointUrl": "https://crm.example.com/hook",
        "httpMethod": "post",
        "apiKey": "crm-secret-key-123",
        "triggerEvent": "VERIFIED",
        "fieldMappings": {"mobileNumber": "phone"},
        "batchSize": 50,
        "matchedOnly": True,
    }
    reply = call(sb, "POST", f"{CONNECT}/integrations", account=account, json_body=body)
    created = data(reply)
    assert "crm-secret-key-123" not in reply.body.decode()
    assert "apiKey" not in created
    assert created["hasApiKey"] is True
    assert created["httpMethod"] == "POST"
    assert (created["displayName"], created["batchSize"], created["matchedOnly"]) == (
        "My CRM",
        50,
        True,
    )
    assert created["integrationId"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"displayName": None}, "displayName is required."),
        ({"displayName": ""}, "displayName must be between 1 and 100 characters."),
        ({"displayName": "x" * 101}, "displayName must be between 1 and 100 characters."),
        ({"integrationType": ""}, "integrationType must be between 1 and 100 characters."),
        ({"endpointUrl": "ftp://x"}, "endpointUrl must be an http or https URL."),
        ({"batchSize": True}, "batchSize must be an integer."),
        ({"batchSize": 0}, "batchSize must be between 1 and 10000."),
        ({"matchedOnly": "yes"}, "matchedOnly must be a boolean."),
        ({"fieldMappings": "x"}, "fieldMappings is required."),
    ],
)
def test_connect_integration_validation(
    sb: Sandbox, account: SandboxAccount, changes: dict[str, object], message: str
):
    body = {"displayName": "CRM", "integrationType": "WEBHOOK", **changes}
    reply = call(sb, "POST", f"{CONNECT}/integrations", account=account, json_body=body)
    assert failure(reply, 400)["message"] == message


def test_connect_integration_name_of_100_characters_is_fine(sb: Sandbox, account: SandboxAccount):
    body = {"displayName": "x" * 100, "integrationType": "WEBHOOK"}
    created = data(call(sb, "POST", f"{CONNECT}/integrations", account=account, json_body=body))
    assert created["hasApiKey"] is False
