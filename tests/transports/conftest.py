"""Fixtures for transport tests: both async backends, the loopback server, request builders."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from authmatech.core._http import HttpRequest

from .support import LoopbackServer


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def server() -> Iterator[LoopbackServer]:
    srv = LoopbackServer()
    yield srv
    srv.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port that nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def make_request() -> Callable[..., HttpRequest]:
    def make(
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpRequest:
        return HttpRequest(
            method=method,
            url=url,
            headers={"Accept": "application/json", **(headers or {})},
            body=body,
        )

    return make
