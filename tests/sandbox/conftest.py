"""Fixtures for the sandbox tests: a fake clock, a seeded sandbox, an account, both loops."""

from __future__ import annotations

import pytest
from sandbox_helpers import FakeClock

from authmatech.sandbox import Sandbox, SandboxAccount


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sb(clock: FakeClock) -> Sandbox:
    return Sandbox(clock=clock, seed=1234, wall=clock)


@pytest.fixture
def account(sb: Sandbox) -> SandboxAccount:
    return sb.create_account()
