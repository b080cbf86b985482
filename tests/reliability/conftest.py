"""The reliability suite: both clients against real loopback servers that misbehave on purpose.

Every test here carries the ``reliability`` marker (``pytest -m reliability``, ``nox -s
reliability``); they also run in the normal ``pytest`` run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, settings

from authmatech.sandbox import Sandbox, SandboxAccount, ServerThread

from .support import RawServer, ok_handler

settings.register_profile(
    "authmatech-reliability",
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

#: Multiplies the example counts of the client-level properties (``HYPOTHESIS_PROFILE=fuzz``).
FUZZ_SCALE = 50 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 1


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "reliability: fault injection, secrets, redirects, cancellation, load and fuzzing "
        "against real loopback servers (tests/reliability)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here + os.sep):
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, ServerThread]]:
    """One sandbox served on 127.0.0.1 for the module (faults and request log reset per test)."""
    sandbox = Sandbox(seed=5)
    with ServerThread(sandbox) as server:
        yield sandbox, server


@pytest.fixture
def sandbox_server(served: tuple[Sandbox, ServerThread]) -> Iterator[ServerThread]:
    sandbox, server = served
    sandbox.clear_faults()
    sandbox.reset_requests()
    yield server
    sandbox.clear_faults()


@pytest.fixture
def account(served: tuple[Sandbox, ServerThread]) -> SandboxAccount:
    return served[0].create_account(rate_limit_per_minute=10_000_000, balance=10_000_000)


@pytest.fixture
def other_host() -> Iterator[RawServer]:
    """A raw server on 127.0.0.2 (another host: on Linux all of 127/8 is loopback)."""
    with RawServer(ok_handler, host="127.0.0.2") as server:
        yield server
