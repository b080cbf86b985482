"""Rule 2: the 23 operation specs match the contract's index table (section 4)."""

from __future__ import annotations

import pytest
from core_helpers import CALLS

from authmatech import core, models
from authmatech.core import OPERATIONS, Auth, Replay

# name, method, path (contract section 4 index), in its order
INDEX = [
    ("verify", "POST", "/v1/api/verify"),
    ("verify_web", "POST", "/v1/api/verify/{transactionId}"),
    ("sdk.register_session", "POST", "/v1/api/sdk/session"),
    ("intelligence.trust_score", "POST", "/v1/api/trust/score"),
    ("intelligence.shield_assess", "POST", "/v1/api/shield/assess"),
    ("intelligence.detect_analyze", "POST", "/v1/api/detect/analyze"),
    ("account.rotate_client_key", "POST", "/v1/api/clients/rotate-key"),
    ("account.rotate_client_key_by_id", "POST", "/v1/api/clients/{clientId}/rotate-key"),
    ("account.rotate_api_key", "POST", "/v1/api/me/api-key/rotate"),
    ("account.generate_api_key", "POST", "/v1/api/me/api-key/generate"),
    ("account.products", "GET", "/v1/api/me/products"),
    ("account.usage", "GET", "/v1/api/me/usage"),
    ("account.verifications", "GET", "/v1/api/me/verifications"),
    ("account.balance_history", "GET", "/v1/api/me/balance-history"),
    ("stuck_plus.overview", "GET", "/v1/api/me/stuck-plus/overview"),
    ("stuck_plus.sessions", "GET", "/v1/api/me/stuck-plus/sessions"),
    ("stuck_plus.journey", "GET", "/v1/api/me/stuck-plus/sessions/{sessionId}/journey"),
    ("stuck_plus.reveal", "POST", "/v1/api/me/stuck-plus/sessions/{sessionId}/reveal"),
    ("stuck_plus.reset", "POST", "/v1/api/me/stuck-plus/sessions/{sessionId}/reset"),
    ("stuck_plus.backfill", "POST", "/v1/api/me/stuck-plus/backfill"),
    ("stuck_plus.reveals", "GET", "/v1/api/me/stuck-plus/reveals"),
    ("connect.start_import", "POST", "/v1/api/me/connect/import/start"),
    ("connect.create_integration", "POST", "/v1/api/me/connect/integrations"),
]

SECRET_NEEDED = {
    "account.rotate_client_key",
    "account.rotate_client_key_by_id",
    "account.rotate_api_key",
    "account.generate_api_key",
}
BILLABLE = {
    "verify",
    "verify_web",
    "intelligence.trust_score",
    "intelligence.shield_assess",
    "intelligence.detect_analyze",
    "stuck_plus.reveal",
}
NEVER = SECRET_NEEDED | {"stuck_plus.reveal"}


def test_exactly_23_operations() -> None:
    assert len(OPERATIONS) == 23
    assert [name for name, _, _ in INDEX] == list(OPERATIONS)
    assert len({(op.method, op.path) for op in OPERATIONS.values()}) == 23


@pytest.mark.parametrize(("name", "method", "path"), INDEX)
def test_method_path_and_auth(name: str, method: str, path: str) -> None:
    op = OPERATIONS[name]
    assert op.name == name
    assert op.method == method
    assert op.path == path
    expected_auth = Auth.SDK_TOKEN if name == "sdk.register_session" else Auth.API_KEY
    assert op.auth is expected_auth


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_flags(name: str) -> None:
    op = OPERATIONS[name]
    assert op.needs_client_secret is (name in SECRET_NEEDED)
    assert op.billable is (name in BILLABLE)
    if op.method == "GET":
        expected = Replay.SAFE
    elif name in NEVER:
        expected = Replay.NEVER
    else:
        expected = Replay.UNSAFE
    assert op.replay is expected
    assert op.idempotent is (expected is Replay.SAFE)


def test_only_the_sdk_session_uses_the_sdk_token() -> None:
    assert [n for n, op in OPERATIONS.items() if op.auth is Auth.SDK_TOKEN] == [
        "sdk.register_session"
    ]


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_each_builder_returns_a_call_of_its_operation(name: str) -> None:
    call = CALLS[name]()
    assert call.operation is OPERATIONS[name]
    assert repr(call) == f"Call({name!r}, {call.operation.method} {call.operation.path})"


@pytest.mark.parametrize(
    ("name", "result_type"),
    [
        ("verify", models.VerifyResult),
        ("verify_web", models.VerifyResult),
        ("sdk.register_session", models.SdkSession),
        ("intelligence.trust_score", models.TrustScore),
        ("intelligence.shield_assess", models.ShieldAssessment),
        ("intelligence.detect_analyze", models.DetectAnalysis),
        ("stuck_plus.reveal", models.ApiResult),
        ("account.products", models.ApiResult),
    ],
)
def test_result_types(name: str, result_type: type) -> None:
    result = OPERATIONS[name].result({"validNumber": True})
    assert type(result) is result_type


def test_every_builder_is_exported() -> None:
    exported = {
        "verify",
        "verify_web",
        "register_sdk_session",
        "trust_score",
        "shield_assess",
        "detect_analyze",
        "rotate_client_key",
        "rotate_client_key_by_id",
        "rotate_api_key",
        "generate_api_key",
        "account_products",
        "account_usage",
        "account_verifications",
        "account_balance_history",
        "stuck_plus_overview",
        "stuck_plus_sessions",
        "stuck_plus_journey",
        "stuck_plus_reveal",
        "stuck_plus_reset",
        "stuck_plus_backfill",
        "stuck_plus_reveals",
        "connect_start_import",
        "connect_create_integration",
    }
    assert len(exported) == 23
    assert exported <= set(core.__all__)
    assert all(callable(getattr(core, name)) for name in exported)
