"""Fixtures for transport tests: both async backends, the loopback server, request builders."""

from __future__ import annotations

import importlib
import importlib.util
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from authmatech import Secret
from authmatech.core._http import HttpRequest, assembled

from .support import LoopbackServer


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


FAMILIES = ["httpx", "httpx2"] if importlib.util.find_spec("httpx2") is not None else ["httpx"]


@pytest.fixture(params=FAMILIES)
def x(request: pytest.FixtureRequest) -> Any:
    """The httpx-family module under test: ``httpx``, and ``httpx2`` where it is installed."""
    return importlib.import_module(request.param)


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
        *,
        unchecked: bool = False,
    ) -> HttpRequest:
        """A request; ``unchecked``: one that ``HttpRequest`` refuses (a bad URL, a line break
        in a header), built past its checks, for the transports' own defences."""
        every = {"Accept": "application/json", **(headers or {})}
        if not unchecked:
            return HttpRequest(method=method, url=url, headers=every, body=body)
        secret = {name: Secret(value) for name, value in every.items() if name in SECRET_NAMES}
        plain = {name: value for name, value in every.items() if name not in secret}
        return assembled(method, url, plain, secret, body, None)

    return make


SECRET_NAMES = {"X-API-KEY", "X-SDK-TOKEN"}
