"""The per-client sliding-window rate limit, with an injected clock."""

from __future__ import annotations

from collections import deque

import pytest
from sandbox_helpers import NUMBER, RATE_LIMITED, FakeClock, call, envelope, sdk_auth, verify

from authmatech.sandbox import Sandbox
from authmatech.sandbox._ratelimit import admit

PRODUCTS = "/v1/api/me/products"


def test_over_budget_is_the_documented_429(sb: Sandbox, clock: FakeClock):
    account = sb.create_account(rate_limit_per_minute=3)
    for _ in range(3):
        assert call(sb, "GET", PRODUCTS, account=account).status == 200
        clock.advance(1)
    reply = call(sb, "GET", PRODUCTS, account=account)
    assert reply.status == 429
    assert envelope(reply) == RATE_LIMITED
    assert reply.header("retry-after") is None


def test_the_window_slides(sb: Sandbox, clock: FakeClock):
    account = sb.create_account(rate_limit_per_minute=3)
    start = clock.now
    for offset in (0, 20, 40):
        clock.now = start + offset
        assert call(sb, "GET", PRODUCTS, account=account).status == 200
    clock.now = start + 59.999
    assert call(sb, "GET", PRODUCTS, account=account).status == 429
    clock.now = start + 60
    assert call(sb, "GET", PRODUCTS, account=account).status == 200
    assert call(sb, "GET", PRODUCTS, account=account).status == 429
    clock.now = start + 80
    assert call(sb, "GET", PRODUCTS, account=account).status == 200


def test_rejected_requests_do_not_extend_the_lockout(sb: Sandbox, clock: FakeClock):
    account = sb.create_account(rate_limit_per_minute=1)
    assert call(sb, "GET", PRODUCTS, account=account).status == 200
    for _ in range(10):
        clock.advance(5)
        assert call(sb, "GET", PRODUCTS, account=account).status == 429
    clock.advance(10)
    assert call(sb, "GET", PRODUCTS, account=account).status == 200


def test_budgets_are_per_client(sb: Sandbox):
    first = sb.create_account(rate_limit_per_minute=1)
    second = sb.create_account(rate_limit_per_minute=1)
    assert call(sb, "GET", PRODUCTS, account=first).status == 200
    assert call(sb, "GET", PRODUCTS, account=first).status == 429
    assert call(sb, "GET", PRODUCTS, account=second).status == 200


def test_rate_limited_calls_are_not_billed(sb: Sandbox):
    account = sb.create_account(rate_limit_per_minute=2)
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    statuses = [verify(sb, account, NUMBER, proof).status for _ in range(5)]
    assert statuses == [200, 200, 429, 429, 429]
    assert sb.balance(account.client_id) == 10_000 - 2


def test_unauthenticated_requests_do_not_spend_the_budget(sb: Sandbox):
    account = sb.create_account(rate_limit_per_minute=1)
    bad = {"X-CLIENT-ID": account.client_id, "X-API-KEY": "wrong"}
    for _ in range(5):
        assert call(sb, "GET", PRODUCTS, headers=bad).status == 401
    assert call(sb, "GET", PRODUCTS, account=account).status == 200


def test_sdk_session_calls_share_the_budget(sb: Sandbox):
    account = sb.create_account(rate_limit_per_minute=2)
    path = "/v1/api/sdk/session"
    assert call(sb, "POST", path, headers=sdk_auth(account), json_body={}).status == 200
    assert call(sb, "GET", PRODUCTS, account=account).status == 200
    assert call(sb, "POST", path, headers=sdk_auth(account), json_body={}).status == 429


def test_default_budget_is_1000_a_minute(sb: Sandbox, clock: FakeClock):
    account = sb.create_account()
    statuses = [call(sb, "GET", PRODUCTS, account=account).status for _ in range(1001)]
    assert statuses.count(200) == 1000
    assert statuses[-1] == 429
    clock.advance(60)
    assert call(sb, "GET", PRODUCTS, account=account).status == 200


def test_admit_unit():
    window: deque[float] = deque()
    assert [admit(window, 2, t) for t in (0.0, 1.0, 2.0, 59.9, 60.0, 60.5, 61.0)] == [
        True, True, False, False, True, False, True,
    ]  # fmt: skip
    assert list(window) == [60.0, 61.0]


def test_a_short_window(sb: Sandbox, clock: FakeClock):
    account = sb.create_account(rate_limit_per_minute=2, rate_window=10)
    start = clock.now
    assert call(sb, "GET", PRODUCTS, account=account).status == 200
    assert call(sb, "GET", PRODUCTS, account=account).status == 200
    clock.now = start + 9.999
    assert call(sb, "GET", PRODUCTS, account=account).status == 429
    clock.now = start + 10
    assert call(sb, "GET", PRODUCTS, account=account).status == 200


def test_a_bad_window_is_refused(sb: Sandbox):
    for bad, error in ((0, ValueError), (-1, ValueError), (86_401, ValueError), ("9", TypeError)):
        with pytest.raises(error, match="rate_window must be"):
            sb.create_account(rate_window=bad)  # type: ignore[arg-type]
