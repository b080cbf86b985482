"""Shared values and builders for the core tests (imported by the test modules directly)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import Phase, settings

from authmatech import core, models
from authmatech.core import Call

API_KEY = "ak_live_7f3b9c2d1e"
SDK_TOKEN = "sdk_tok_4a5b6c7d8e"
CLIENT_SECRET = "cs_9z8y7x6w5v"
CLIENT_ID = "client-123"
NUMBER = "+962791234567"


def heavy() -> settings:
    """Settings of the heavy parser/builder properties: the profile chosen in conftest.py
    (a few hundred examples, or 100,000 with ``HYPOTHESIS_PROFILE=fuzz``)."""
    return settings(settings.get_profile("authmatech-core-heavy"))


def light(max_examples: int = 150) -> settings:
    """Settings of the cheaper properties: a fixed small budget whatever the profile."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )


def envelope(
    data: Any = None,
    *,
    success: bool = True,
    messages: list[dict[str, Any]] | None = None,
) -> bytes:
    if messages is None:
        kind, status = ("SUCCESS", "OK") if success else ("FAILURE", "BAD_REQUEST")
        messages = [{"type": kind, "httpStatus": status, "technical": False}]
    return json.dumps({"success": success, "messages": messages, "data": data}).encode()


def failure(status_name: str, message: str | None, code: str | None = None) -> bytes:
    item: dict[str, Any] = {"type": "FAILURE", "httpStatus": status_name}
    if message is not None:
        item["message"] = message
    if code is not None:
        item["code"] = code
    return envelope(None, success=False, messages=[item])


def response(
    status: int, body: bytes = b"", headers: Mapping[str, str] | None = None
) -> core.HttpResponse:
    return core.HttpResponse(status, dict(headers or {}), body)


OK_VERIFY = response(200, envelope({"validNumber": True}))


SIGNALS = models.Signals(
    mobile_number=NUMBER,
    metadata_id="order-9921",
    session_id="sess-abc123",
    sdk_session_id="b1f2c3d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
    device=models.DeviceSignal(
        platform="android",
        os_version="14",
        model="Pixel 8",
        app_version="3.2.1",
        sdk_version="1.1.0",
        is_rooted=False,
        is_emulator=False,
        vpn_detected=False,
        proxy_detected=False,
        app_integrity_status="PASS",
        device_id="device-hash-1",
    ),
    network=models.NetworkSignal(
        ip_address="5.10.20.30",
        country_code="JO",
        operator="ZAIN_JO",
        connection_type="cellular",
    ),
)

#: A valid call for each of the 23 operations, by operation name.
CALLS: dict[str, Callable[[], Call[Any]]] = {
    "verify": lambda: core.verify(NUMBER, "BASE64_ENCRYPTED_BLOB_FROM_SDK"),
    "verify_web": lambda: core.verify_web("tx-1", NUMBER),
    "sdk.register_session": lambda: core.register_sdk_session(sdk_session_id="s-1"),
    "intelligence.trust_score": lambda: core.trust_score(SIGNALS),
    "intelligence.shield_assess": lambda: core.shield_assess(SIGNALS),
    "intelligence.detect_analyze": lambda: core.detect_analyze(SIGNALS),
    "account.rotate_client_key": core.rotate_client_key,
    "account.rotate_client_key_by_id": lambda: core.rotate_client_key_by_id("client-123"),
    "account.rotate_api_key": core.rotate_api_key,
    "account.generate_api_key": core.generate_api_key,
    "account.products": core.account_products,
    "account.usage": core.account_usage,
    "account.verifications": core.account_verifications,
    "account.balance_history": core.account_balance_history,
    "stuck_plus.overview": core.stuck_plus_overview,
    "stuck_plus.sessions": core.stuck_plus_sessions,
    "stuck_plus.journey": lambda: core.stuck_plus_journey("sess-1"),
    "stuck_plus.reveal": lambda: core.stuck_plus_reveal("sess-1"),
    "stuck_plus.reset": lambda: core.stuck_plus_reset("sess-1"),
    "stuck_plus.backfill": core.stuck_plus_backfill,
    "stuck_plus.reveals": core.stuck_plus_reveals,
    "connect.start_import": lambda: core.connect_start_import("job-1", {"Phone": "mobileNumber"}),
    "connect.create_integration": lambda: core.connect_create_integration(
        models.ConnectIntegration(display_name="CRM", integration_type="WEBHOOK")
    ),
}

SECRET_OPS = frozenset(
    {
        "account.rotate_client_key",
        "account.rotate_client_key_by_id",
        "account.rotate_api_key",
        "account.generate_api_key",
    }
)


class FakeClock:
    """A clock the test moves by hand: monotonic and wall time advance together."""

    def __init__(self, monotonic: float = 1_000.0, wall: float = 1_700_000_000.0) -> None:
        self.mono = monotonic
        self.now = wall
        self.random_value = 0.5

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.now += seconds

    def clock(self) -> core.Clock:
        return core.Clock(
            monotonic=lambda: self.mono, wall=lambda: self.now, random=lambda: self.random_value
        )
