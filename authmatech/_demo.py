"""``python -m authmatech demo``: the documented flow, end to end, against an in-process sandbox.

Offline and quick. It prints fingerprints, never a raw secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

import anyio

from ._async_client import AsyncClient
from .core import mask_phone
from .credentials import Credentials, Secret
from .errors import AuthenticationError, ConfigurationError, CredentialScopeError
from .models import DeviceContext, DeviceSignal, NetworkSignal, Signals
from .sandbox import Sandbox, SandboxAccount

__all__ = ["run_demo"]

NUMBER = "+962791234567"
MISTYPED = "+962791234576"
BASE_URL = "https://service.authmatech.com"


def run_demo(out: TextIO) -> int:
    """Run the transcript, writing it to ``out``; returns the exit code."""
    return anyio.run(_demo, out)


async def _demo(out: TextIO) -> int:
    started = time.monotonic()
    step = _Printer(out)
    sandbox = Sandbox()
    account = sandbox.create_account()
    step.title("1. A sandbox account (the dashboard would show these)")
    step.line(f"client id      {account.client_id}")
    step.line(f"API key        {account.api_key}      (fingerprints only, never the value)")
    step.line(f"client secret  {account.client_secret}")
    step.line(f"SDK token      {account.sdk_token}")

    http = sandbox.async_http_client()

    def client(**options: object) -> AsyncClient:
        options.setdefault("client_id", account.client_id)
        options.setdefault("base_url", BASE_URL)
        return AsyncClient(http_client=http, **options)  # type: ignore[arg-type]

    try:
        await _flow(step, sandbox, account, client)
    finally:
        await http.aclose()
    step.title(f"Done in {time.monotonic() - started:.2f} s.")
    return 0


async def _flow(
    step: _Printer,
    sandbox: Sandbox,
    account: SandboxAccount,
    client: Callable[..., AsyncClient],
) -> None:
    step.title("2. The device SDK registers a session with the SDK token")
    device = client(sdk_token=account.sdk_token)
    session = await device.sdk.register_session(
        sdk_session_id="b1f2c3d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        mno_id="ZAIN_JO",
        authmatech_code_present=True,
        device_context=DeviceContext(platform="android", os_version="14"),
    )
    step.line(f"sdkSessionId   {session.sdk_session_id}   (X-SDK-TOKEN + X-CLIENT-ID only)")

    step.title("3. The operator network proves the number; the app forwards the proof")
    proof = sandbox.device_proof(NUMBER, operator_id="ZAIN_JO")
    step.line(
        f"encryptedMobileNumber  {proof.encrypted_mobile_number[:16]}...  "
        f"operatorId {proof.operator_id}"
    )

    backend = client(api_key=account.api_key, client_secret=account.client_secret)
    step.title("4. The backend verifies it with the API key")
    result = await backend.verify(
        NUMBER,
        proof.encrypted_mobile_number,
        operator_id=proof.operator_id,
        service_type="LOGIN",
        sdk_session_id=session.sdk_session_id,
    )
    step.line(f"verify({mask_phone(NUMBER)})  ->  validNumber: {result.valid_number}")

    step.title("5. A mistyped number is a normal answer, not an exception")
    result = await backend.verify(MISTYPED, proof.encrypted_mobile_number)
    step.line(f"verify({mask_phone(MISTYPED)})  ->  validNumber: {result.valid_number}")

    step.title("6. Verify N+: ask for the confirmed number, masked")
    fresh = sandbox.device_proof(NUMBER)
    result = await backend.verify(NUMBER, fresh.encrypted_mobile_number, mask_mobile=True)
    step.line(f"maskMobile=true  ->  {result.masked_mobile_number}")

    step.title("7. The SDK token cannot call Verify: refused before anything is sent")
    before = len(sandbox.requests)
    try:
        await device.verify(NUMBER, fresh.encrypted_mobile_number)
    except CredentialScopeError as error:
        step.line(f"CredentialScopeError: {error}")
    step.line(f"requests sent meanwhile: {len(sandbox.requests) - before}")

    step.title("8. Credential hygiene (the documented cause of persistent 401s)")
    env = {
        "AUTHMATECH_CLIENT_ID": account.client_id,
        "AUTHMATECH_API_KEY": account.api_key.reveal() + "\n",
    }
    from_env = Credentials.from_env(env)
    step.line(f"AUTHMATECH_API_KEY with a trailing newline -> cleaned, {from_env.api_key}")
    env_client = client(api_key=from_env.api_key)
    fresh = sandbox.device_proof(NUMBER)
    ok = await env_client.verify(NUMBER, fresh.encrypted_mobile_number)
    step.line(f"  and it works: validNumber {ok.valid_number}")
    quoted = {**env, "AUTHMATECH_API_KEY": f'"{account.api_key.reveal()}"'}
    try:
        Credentials.from_env(quoted)
    except ConfigurationError as error:
        step.line(f"a quoted key -> ConfigurationError: {error}")

    step.title("9. Rotating the API key with the client secret")
    old_key = account.api_key
    rotated_to: list[Secret] = []
    rotating = client(
        api_key=old_key, client_secret=account.client_secret, on_api_key_rotated=rotated_to.append
    )
    rotated = await rotating.account.rotate_api_key()
    step.line(f"new key {rotated.api_key}; on_api_key_rotated saw {rotated_to[0]}")
    step.line("update every system that used the old key: it stops working now")
    try:
        await client(api_key=old_key).account.products()
    except AuthenticationError as error:
        step.line(f"old key  -> {type(error).__name__} {error.status_code}")
    products = await rotating.account.products()
    step.line(f"new key  -> products {products.data}")

    step.title("10. Trust, Shield and Detect on sample signals")
    signals = Signals(
        mobile_number=NUMBER,
        metadata_id="order-9921",
        session_id="sess-abc123",
        sdk_session_id=session.sdk_session_id,
        device=DeviceSignal(
            platform="android",
            os_version="14",
            model="Pixel 8",
            is_rooted=False,
            is_emulator=False,
            vpn_detected=False,
            proxy_detected=False,
            app_integrity_status="PASS",
        ),
        network=NetworkSignal(
            ip_address="5.10.20.30",
            country_code="JO",
            operator="ZAIN_JO",
            connection_type="cellular",
        ),
    )
    trust = await rotating.intelligence.trust_score(signals)
    shield = await rotating.intelligence.shield_assess(signals)
    detect = await rotating.intelligence.detect_analyze(signals)
    step.line(
        f"trust   {trust.transaction_id}  score {trust.trust_score}  {_name(trust.recommendation)}"
    )
    step.line(
        f"shield  {shield.transaction_id}  decision {_name(shield.decision)}  "
        f"risk {_name(shield.risk_level)}"
    )
    step.line(
        f"detect  {detect.transaction_id}  action {_name(detect.recommended_action)}  "
        f"anomalies {len(detect.anomalies)}"
    )
    risky = Signals(
        mobile_number=NUMBER,
        device=DeviceSignal(
            is_rooted=True, is_emulator=True, proxy_detected=True, app_integrity_status="FAIL"
        ),
    )
    blocked = await rotating.intelligence.shield_assess(risky)
    step.line(
        f"rooted emulator behind a proxy -> decision {_name(blocked.decision)} "
        "(an answer, not an exception)"
    )

    step.title("11. A 429 absorbed by backoff")
    sandbox.inject_fault(
        status=429, headers={"Retry-After": "0.2"}, times=1, path="/v1/api/me/products"
    )
    seen = len(sandbox.requests)
    clock = time.monotonic()
    await rotating.account.products()
    step.line(
        f"answered after {len(sandbox.requests) - seen} requests and "
        f"{time.monotonic() - clock:.1f} s (Retry-After honoured)"
    )
    step.line(f"balance left: {sandbox.balance(account.client_id)} credits")


def _name(value: object) -> str:
    return str(getattr(value, "value", value))


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self._write: Callable[[str], object] = out.write

    def title(self, text: str) -> None:
        self._write(f"\n{text}\n")

    def line(self, text: str) -> None:
        self._write(f"   {text}\n")
