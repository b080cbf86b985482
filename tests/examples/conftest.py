"""Fixtures for the example tests: a sandbox served over loopback HTTP, uvicorn servers in
threads, and both event loops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from examples_support import AppServer

from authmatech.sandbox import Sandbox, SandboxAccount, ServerThread


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(seed=7)


@pytest.fixture
def account(sandbox: Sandbox) -> SandboxAccount:
    return sandbox.create_account()


@pytest.fixture
def sandbox_server(sandbox: Sandbox) -> Iterator[ServerThread]:
    """The sandbox served over real HTTP on 127.0.0.1 (a free port)."""
    with ServerThread(sandbox) as server:
        yield server


@pytest.fixture
def serve_app() -> Iterator[Callable[[Any], AppServer]]:
    """Start apps under real uvicorn servers; every one is stopped after the test."""
    servers: list[AppServer] = []

    def start(app: Any) -> AppServer:
        server = AppServer(app)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()
