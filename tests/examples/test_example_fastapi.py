"""examples/fastapi_app.py served by a real uvicorn on loopback, its AsyncClient talking to the
sandbox served over loopback HTTP too (or in-process, for the ``http_client`` variants)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

pytest.importorskip("fastapi", reason="the FastAPI example needs fastapi (the test extra)")
pytest.importorskip("uvicorn", reason="the FastAPI example needs uvicorn (the test extra)")

from examples_support import AppServer, load_example

import authmatech
from authmatech.sandbox import Sandbox, SandboxAccount, ServerThread

fastapi_app = load_example("fastapi_app")

NUMBER = "+962791234567"
VERIFY = "/v1/api/verify"


def options(server: ServerThread, account: SandboxAccount, **overrides: Any) -> dict[str, Any]:
    """AsyncClient options pointing at the loopback sandbox with ``account``'s key."""
    return {
        "client_id": account.client_id,
        "api_key": account.api_key,
        "base_url": server.url,
        **overrides,
    }


def page_body(
    sandbox: Sandbox, number: str = NUMBER, *, typed: str | None = None
) -> dict[str, str]:
    """What the Web SDK resolves to after header enrichment, plus the number the customer typed."""
    proof = sandbox.device_proof(number)
    return {
        "authmatechCode": proof.encrypted_mobile_number,
        "MNOID": proof.operator_id,
        "sdkSessionId": "b1f2c3d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "mobileNumber": typed or number,
    }


def post(base_url: str, body: object) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=10) as http:
        return http.post("/api/verify", json=body)


@pytest.fixture
def app_url(
    serve_app: Callable[[Any], AppServer], sandbox_server: ServerThread, account: SandboxAccount
) -> str:
    """The example app, its client on the loopback sandbox with the right key."""
    return serve_app(fastapi_app.create_app(**options(sandbox_server, account))).url


def test_valid_number(app_url: str, sandbox: Sandbox, account: SandboxAccount) -> None:
    before = sandbox.balance(account.client_id)
    response = post(app_url, page_body(sandbox))
    assert response.status_code == 200
    assert response.json() == {"validNumber": True}
    assert sandbox.balance(account.client_id) == before - 1
    [seen] = [r for r in sandbox.requests if r.path == VERIFY]
    assert seen.status == 200
    assert seen.api_key_fingerprint == account.api_key.fingerprint


def test_wrong_number_is_a_normal_answer(app_url: str, sandbox: Sandbox) -> None:
    response = post(app_url, page_body(sandbox, typed="+962791234576"))
    assert response.status_code == 200
    assert response.json() == {"validNumber": False}


@pytest.mark.parametrize("typed", ["0791234567", "+962 79 123 4567", "+962-79-1234567"])
def test_bad_number_is_400_and_nothing_is_sent(app_url: str, sandbox: Sandbox, typed: str) -> None:
    response = post(app_url, page_body(sandbox, typed=typed))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_mobile_number"
    message = response.json()["message"]
    assert message.startswith("mobileNumber must be in E.164 format")
    assert typed not in message  # echoed masked only
    assert [r for r in sandbox.requests if r.path == VERIFY] == []


def test_blank_proof_is_400_invalid_request(app_url: str, sandbox: Sandbox) -> None:
    body = {**page_body(sandbox), "authmatechCode": "   "}
    response = post(app_url, body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "must not be empty" in response.json()["message"]
    assert sandbox.requests == ()


def test_missing_field_is_422(app_url: str, sandbox: Sandbox) -> None:
    body = page_body(sandbox)
    del body["authmatechCode"]
    response = post(app_url, body)
    assert response.status_code == 422


def test_wrong_api_key_is_502_without_details(
    serve_app: Callable[[Any], AppServer],
    sandbox_server: ServerThread,
    sandbox: Sandbox,
    account: SandboxAccount,
) -> None:
    wrong = "ak_sbx_not_the_right_key_0000000000"
    url = serve_app(fastapi_app.create_app(**options(sandbox_server, account, api_key=wrong))).url
    response = post(url, page_body(sandbox))
    assert response.status_code == 502
    assert response.json() == {
        "error": "upstream_error",
        "message": "Verification is not available right now.",
    }
    assert wrong not in response.text
    assert "401" not in response.text
    assert [r.status for r in sandbox.requests if r.path == VERIFY] == [401]


def test_upstream_timeout_is_504(
    serve_app: Callable[[Any], AppServer],
    sandbox_server: ServerThread,
    sandbox: Sandbox,
    account: SandboxAccount,
) -> None:
    url = serve_app(fastapi_app.create_app(**options(sandbox_server, account, timeout=0.2))).url
    sandbox.inject_fault(delay=1.0, path=VERIFY)
    before = sandbox.balance(account.client_id)
    response = post(url, page_body(sandbox))
    assert response.status_code == 504
    assert response.json()["error"] == "upstream_timeout"
    # The request reached the service before the answer was late: it was processed and
    # billed, so the client did not resend it (verify has no idempotency key).
    assert len([r for r in sandbox.requests if r.path == VERIFY]) == 1
    assert sandbox.balance(account.client_id) == before - 1


def test_upstream_500_is_503_and_not_resent(app_url: str, sandbox: Sandbox) -> None:
    sandbox.inject_fault(status=500, path=VERIFY)
    response = post(app_url, page_body(sandbox))
    assert response.status_code == 503
    assert response.json()["error"] == "upstream_unavailable"
    assert [r.status for r in sandbox.requests if r.path == VERIFY] == [500]


def test_upstream_unreachable_is_503(
    serve_app: Callable[[Any], AppServer], account: SandboxAccount, sandbox: Sandbox
) -> None:
    with socket.socket() as refusing:  # bound, never listening: connections are refused
        refusing.bind(("127.0.0.1", 0))
        app = fastapi_app.create_app(
            client_id=account.client_id,
            api_key=account.api_key,
            base_url=f"http://127.0.0.1:{refusing.getsockname()[1]}",
            max_retries=0,
        )
        response = post(serve_app(app).url, page_body(sandbox))
    assert response.status_code == 503
    assert response.json()["error"] == "upstream_unavailable"


def test_upstream_rate_limit_is_503_with_retry_after(
    serve_app: Callable[[Any], AppServer],
    sandbox_server: ServerThread,
    sandbox: Sandbox,
    account: SandboxAccount,
) -> None:
    url = serve_app(fastapi_app.create_app(**options(sandbox_server, account, max_retries=0))).url
    sandbox.inject_fault(status=429, headers={"Retry-After": "7"}, path=VERIFY)
    response = post(url, page_body(sandbox))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"


def test_credentials_from_the_environment(
    serve_app: Callable[[Any], AppServer],
    sandbox_server: ServerThread,
    sandbox: Sandbox,
    account: SandboxAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHMATECH_CLIENT_ID", account.client_id)
    monkeypatch.setenv("AUTHMATECH_API_KEY", account.api_key.reveal() + "\n")  # stray newline
    monkeypatch.setenv("AUTHMATECH_BASE_URL", sandbox_server.url)
    url = serve_app(fastapi_app.app).url
    assert post(url, page_body(sandbox)).json() == {"validNumber": True}


@pytest.fixture
def aclose_calls(monkeypatch: pytest.MonkeyPatch) -> list[authmatech.AsyncClient]:
    """Every AsyncClient closed during the test."""
    calls: list[authmatech.AsyncClient] = []
    original = authmatech.AsyncClient.aclose

    async def aclose(self: authmatech.AsyncClient) -> None:
        calls.append(self)
        await original(self)

    monkeypatch.setattr(authmatech.AsyncClient, "aclose", aclose)
    return calls


def test_the_app_closes_its_client_on_shutdown_but_not_the_http_client(
    serve_app: Callable[[Any], AppServer],
    sandbox: Sandbox,
    account: SandboxAccount,
    aclose_calls: list[authmatech.AsyncClient],
) -> None:
    # In-process transport: no sockets, so this thread may close it after the server's loop.
    http = httpx.AsyncClient(transport=sandbox.async_transport())
    app = fastapi_app.create_app(
        http_client=http,
        client_id=account.client_id,
        api_key=account.api_key,
        base_url="https://sandbox.authmatech.local",
    )
    server = serve_app(app)
    assert post(server.url, page_body(sandbox)).json() == {"validNumber": True}
    assert aclose_calls == []
    server.stop()
    assert aclose_calls == [app.state.authmatech]
    assert not http.is_closed  # the caller's: the caller closes it
    anyio.run(http.aclose)


def test_a_given_client_is_left_to_its_owner(
    serve_app: Callable[[Any], AppServer],
    sandbox: Sandbox,
    account: SandboxAccount,
    aclose_calls: list[authmatech.AsyncClient],
) -> None:
    http = httpx.AsyncClient(transport=sandbox.async_transport())
    client = authmatech.AsyncClient(
        client_id=account.client_id,
        api_key=account.api_key,
        base_url="https://sandbox.authmatech.local",
        http_client=http,
    )
    with pytest.raises(TypeError, match="either client"):
        fastapi_app.create_app(client=client, max_retries=0)
    server = serve_app(fastapi_app.create_app(client=client))
    assert post(server.url, page_body(sandbox)).json() == {"validNumber": True}
    server.stop()
    assert aclose_calls == []
    anyio.run(client.aclose)
    anyio.run(http.aclose)
