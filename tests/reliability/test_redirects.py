"""Redirects are never followed: no credential header ever reaches a host other than the base
URL's, even through a caller's HTTP client built with ``follow_redirects=True``."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
import pytest

from authmatech import RedirectError
from authmatech.transports import AiohttpTransport

from .support import (
    DRIVERS,
    FAST,
    NUMBER,
    RawRequest,
    RawServer,
    backend_of,
    call_with,
    family_module,
    response,
)

CLIENT_ID = "cl_redirect"
API_KEY = "ak_redirect_0123456789abcdef"


def redirector(status: int, target: RawServer) -> Any:
    def handle(conn: socket.socket, request: RawRequest) -> bool:
        location = f"{target.url}{request.target}"
        conn.sendall(response(status, b"", (f"Location: {location}",), reason="Redirect"))
        return True

    return handle


@pytest.mark.parametrize("caller_client", [False, True], ids=["own_client", "follow_redirects"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("driver", DRIVERS)
def test_redirect_to_another_host_is_refused(
    driver: str, status: int, caller_client: bool, other_host: RawServer
) -> None:
    with RawServer(redirector(status, other_host)) as first:
        options: dict[str, Any] = {
            "client_id": CLIENT_ID,
            "api_key": API_KEY,
            "base_url": first.url,
            "timeout": FAST,
        }
        for call in (
            lambda client: client.verify(NUMBER, "proof"),
            lambda client: client.account.products(),
        ):
            if caller_client:
                outcome = _with_caller_client(driver, options, call)
            else:
                outcome = call_with(driver, options, call)
            assert isinstance(outcome, RedirectError), repr(outcome)
            assert outcome.status_code == status
        assert first.count == 2
        assert all(r.headers["x-api-key"] == API_KEY for r in first.requests)
    assert other_host.count == 0


def _with_caller_client(driver: str, options: dict[str, Any], call: Any) -> Any:
    """The call through an HTTP client of the caller's that follows redirects by default."""
    if driver.startswith("sync"):
        with family_module(driver).Client(follow_redirects=True) as http:
            return call_with(driver, {**options, "http_client": http}, call)

    async def main() -> Any:
        if driver == "aiohttp":
            async with aiohttp.ClientSession() as session:
                transport = AiohttpTransport(session)
                from authmatech import AsyncClient

                async with AsyncClient(**options, transport=transport) as client:
                    try:
                        return await call(client)
                    except Exception as error:
                        return error
        async with family_module(driver).AsyncClient(follow_redirects=True) as http:
            from authmatech import AsyncClient

            async with AsyncClient(**options, http_client=http) as client:
                try:
                    return await call(client)
                except Exception as error:
                    return error

    import anyio

    return anyio.run(main, backend=backend_of(driver))
