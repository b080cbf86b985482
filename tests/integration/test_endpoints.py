"""Every endpoint of the contract through both clients against the sandbox (asyncio and trio),
on both httpx families, in memory through the library's own pytest fixtures
(``authmatech.testing``) and over loopback sockets (see ``conftest.py``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest

import authmatech
from authmatech import Decision, DeviceSignal, NetworkSignal, RiskLevel, Signals
from authmatech.sandbox import TRUST, VERIFY, Sandbox, SandboxAccount

NUMBER = "+962791234567"
OTHER = "+962791234576"
CLEAN = Signals(
    mobile_number=NUMBER,
    metadata_id="order-9921",
    session_id="sess-abc123",
    device=DeviceSignal(
        platform="android",
        is_rooted=False,
        is_emulator=False,
        vpn_detected=False,
        proxy_detected=False,
        app_integrity_status="PASS",
    ),
    network=NetworkSignal(
        ip_address="5.10.20.30", country_code="JO", operator="ZAIN_JO", connection_type="cellular"
    ),
)
RISKY = Signals(
    mobile_number=NUMBER,
    device=DeviceSignal(
        is_rooted=True, is_emulator=True, proxy_detected=True, app_integrity_status="FAIL"
    ),
)


def scenario(client: Any, sandbox: Sandbox, account: SandboxAccount) -> dict[str, Any]:
    """Each call as a (callable, check) pair, shared by the sync and async tests."""
    proof = sandbox.device_proof(NUMBER)
    transaction = sandbox.web_transaction(NUMBER)
    return {
        "verify": (
            lambda: client.verify(
                NUMBER, proof.encrypted_mobile_number, operator_id="ZAIN_JO", service_type="LOGIN"
            ),
            lambda r: r.valid_number is True,
        ),
        "verify_other_number": (
            lambda: client.verify(OTHER, proof.encrypted_mobile_number),
            lambda r: r.valid_number is False,
        ),
        "verify_masked": (
            lambda: client.verify(NUMBER, proof.encrypted_mobile_number, mask_mobile=True),
            lambda r: (
                r.masked_mobile_number.endswith("67") and NUMBER not in r.masked_mobile_number
            ),
        ),
        "verify_web": (lambda: client.verify_web(transaction, NUMBER), lambda r: r.valid_number),
        "register_session": (
            lambda: client.sdk.register_session(sdk_session_id="s-1", mno_id="ZAIN_JO"),
            lambda r: r.sdk_session_id == "s-1",
        ),
        "trust": (
            lambda: client.intelligence.trust_score(CLEAN),
            lambda r: (
                r.transaction_id.startswith("TR-")
                and r.metadata_id == "order-9921"
                and 0 <= r.trust_score <= 100
            ),
        ),
        "shield": (
            lambda: client.intelligence.shield_assess(CLEAN),
            lambda r: r.transaction_id.startswith("SH-") and r.decision is Decision.ALLOW,
        ),
        "shield_block": (
            lambda: client.intelligence.shield_assess(RISKY),
            lambda r: (
                r.decision is Decision.BLOCK
                and r.risk_level in (RiskLevel.HIGH, RiskLevel.CRITICAL)
            ),
        ),
        "detect": (
            lambda: client.intelligence.detect_analyze(CLEAN),
            lambda r: r.transaction_id.startswith("DE-"),
        ),
        "products": (lambda: client.account.products(), lambda r: "VERIFY" in str(r.data)),
        "usage": (lambda: client.account.usage(), lambda r: r.data is not None),
        "verifications": (
            lambda: client.account.verifications(),
            lambda r: NUMBER not in str(r.data),
        ),
        "balance_history": (lambda: client.account.balance_history(), lambda r: r.data is not None),
        "stuck_overview": (
            lambda: client.stuck_plus.overview(),
            lambda r: r.data["totalSessions"] >= 1,
        ),
        "stuck_sessions": (
            lambda: client.stuck_plus.sessions(),
            lambda r: len(r.data["sessions"]) >= 1,
        ),
        "stuck_reveals": (lambda: client.stuck_plus.reveals(), lambda r: r.data is not None),
        "stuck_backfill": (lambda: client.stuck_plus.backfill(), lambda r: r.data is not None),
        "connect_import": (
            lambda: client.connect.start_import("job-1", {"phone": "mobile"}),
            lambda r: r.data["jobId"] == "job-1",
        ),
        "connect_integration": (
            lambda: client.connect.create_integration(
                authmatech.ConnectIntegration(
                    display_name="CRM",
                    integration_type="WEBHOOK",
                    endpoint_url="https://crm.example/hook",
                    api_key=authmatech.Secret("crm-key"),
                )
            ),
            lambda r: "crm-key" not in str(r.data),
        ),
        "generate_api_key": (
            lambda: client.account.generate_api_key(),
            lambda r: r.api_key.reveal().startswith("ak_"),
        ),
    }


def test_every_endpoint_sync(
    authmatech_sandbox: Sandbox,
    authmatech_account: SandboxAccount,
    client: authmatech.Client,
    connect: Callable[..., authmatech.Client],
) -> None:
    for name, (call, check) in scenario(client, authmatech_sandbox, authmatech_account).items():
        assert check(call()), name
    session_id = client.stuck_plus.sessions().data["sessions"][0]["sessionId"]
    assert client.stuck_plus.journey(session_id).data["sessionId"] == session_id
    assert client.stuck_plus.reset(session_id).data is not None
    _rotation(client, authmatech_sandbox, authmatech_account, connect)


@pytest.mark.anyio
async def test_every_endpoint_async(
    authmatech_sandbox: Sandbox,
    authmatech_account: SandboxAccount,
    async_client: authmatech.AsyncClient,
    aconnect: Callable[[SandboxAccount], authmatech.AsyncClient],
) -> None:
    async with async_client as client:
        for name, (call, check) in scenario(client, authmatech_sandbox, authmatech_account).items():
            assert check(await call()), name
        session_id = (await client.stuck_plus.sessions()).data["sessions"][0]["sessionId"]
        assert (await client.stuck_plus.journey(session_id)).data["sessionId"] == session_id
        assert (await client.stuck_plus.reset(session_id)).data is not None
        old = authmatech_sandbox.api_key_fingerprint(authmatech_account.client_id)
        rotated = await client.account.rotate_api_key()
        assert (
            authmatech_sandbox.api_key_fingerprint(authmatech_account.client_id)
            == rotated.api_key.fingerprint
            != old
        )
        assert (await client.account.products()).data
    async with aconnect(authmatech_account) as stale:
        with pytest.raises(authmatech.AuthenticationError):
            await stale.account.products()


def _rotation(
    client: authmatech.Client,
    sandbox: Sandbox,
    account: SandboxAccount,
    connect: Callable[..., authmatech.Client],
) -> None:
    for rotate in (
        client.account.rotate_api_key,
        client.account.rotate_client_key,
        client.account.rotate_client_key_by_id,
    ):
        before = sandbox.api_key_fingerprint(account.client_id)
        rotated = rotate()
        assert sandbox.api_key_fingerprint(account.client_id) == rotated.api_key.fingerprint
        assert rotated.api_key.fingerprint != before
        assert client.api_key_fingerprint == rotated.api_key.fingerprint
        assert client.account.products().data
    with connect(account) as stale, pytest.raises(authmatech.AuthenticationError):
        stale.account.products()


def test_wrong_client_secret_changes_nothing(
    authmatech_sandbox: Sandbox,
    authmatech_account: SandboxAccount,
    client: authmatech.Client,
    connect: Callable[..., authmatech.Client],
) -> None:
    before = authmatech_sandbox.api_key_fingerprint(authmatech_account.client_id)
    with (
        connect(authmatech_account, client_secret="cs_wrong_secret") as wrong,
        pytest.raises(authmatech.APIStatusError) as info,
    ):
        wrong.account.rotate_api_key()
    assert info.value.status_code in (400, 401)
    assert "cs_wrong_secret" not in str(info.value)
    assert authmatech_sandbox.api_key_fingerprint(authmatech_account.client_id) == before
    assert client.account.products().data


def test_products_balance_and_rate_limit_errors(
    authmatech_sandbox: Sandbox, connect: Callable[..., authmatech.Client]
) -> None:
    account = authmatech_sandbox.create_account(
        products=[VERIFY], balance=1, rate_limit_per_minute=3
    )
    with connect(account) as client:
        with pytest.raises(authmatech.FeatureNotEnabledError):
            client.intelligence.trust_score(CLEAN)
        proof = authmatech_sandbox.device_proof(NUMBER)
        assert client.verify(NUMBER, proof.encrypted_mobile_number).valid_number
        with pytest.raises(authmatech.InsufficientBalanceError):
            client.verify(NUMBER, proof.encrypted_mobile_number)
        with pytest.raises(authmatech.RateLimitError):
            client.account.products()
    assert authmatech_sandbox.balance(account.client_id) == 0
    assert TRUST not in account.products


def test_server_side_e164_validation_maps_to_invalid_mobile_number(
    authmatech_sandbox: Sandbox, authmatech_account: SandboxAccount, authmatech_http_family: str
) -> None:
    """The client checks E.164 first; an embedder that skips it gets the server's verdict
    (sent here with the family's own client, through the sandbox's transport of that family)."""
    x = importlib.import_module(authmatech_http_family)
    call = authmatech.core.verify(NUMBER, "BLOB")
    request = call.build(
        authmatech.Credentials(authmatech_account.client_id, api_key=authmatech_account.api_key)
    )
    body = request.reveal_body().replace(NUMBER.encode(), b"0791234567")  # type: ignore[union-attr]
    with x.Client(transport=authmatech_sandbox.transport(authmatech_http_family)) as http:
        answer = http.post(request.url, headers=request.reveal_headers(), content=body)
    with pytest.raises(authmatech.InvalidMobileNumberError) as info:
        call.parse(authmatech.core.HttpResponse(answer.status_code, answer.headers, answer.content))
    assert info.value.code == "INVALID_MOBILE_NUMBER"


def test_faults_through_the_fixtures(
    authmatech_sandbox: Sandbox, client: authmatech.Client
) -> None:
    authmatech_sandbox.inject_fault(status=500, times=1, path="/v1/api/me/products")
    assert client.account.products().data  # a GET is retried
    authmatech_sandbox.inject_fault(status=500, times=1, path="/v1/api/verify")
    proof = authmatech_sandbox.device_proof(NUMBER)
    with pytest.raises(authmatech.ServerError):
        client.verify(NUMBER, proof.encrypted_mobile_number)
    verifies = [r for r in authmatech_sandbox.requests if r.path == "/v1/api/verify"]
    assert len(verifies) == 1
