"""The ASGI app, through httpx.ASGITransport and a tiny hand-written harness."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from sandbox_helpers import BASE_URL, NUMBER, UNAUTHORIZED, auth

from authmatech.sandbox import MAX_BODY_BYTES, InjectedReset, Sandbox, SandboxAccount

pytestmark = pytest.mark.anyio

Message = MutableMapping[str, Any]


async def test_asgi_transport_flow(sb: Sandbox, account: SandboxAccount):
    transport = httpx.ASGITransport(app=sb.asgi_app())
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        proof = sb.device_proof(NUMBER).encrypted_mobile_number
        response = await client.post(
            "/v1/api/verify",
            params={"maskMobile": "true"},
            headers=auth(account),
            json={"mobileNumber": NUMBER, "encryptedMobileNumber": proof},
        )
        assert response.status_code == 200
        assert response.json()["data"] == {"validNumber": True, "mobileNumber": "***********67"}
        assert response.headers["x-request-id"].startswith("req_")
        assert int(response.headers["content-length"]) == len(response.content)
        unauthorized = await client.get("/v1/api/me/products")
        assert (unauthorized.status_code, unauthorized.json()) == (401, UNAUTHORIZED)
        missing = await client.get("/v1/api/missing", headers=auth(account))
        assert missing.json()["messages"][0]["code"] == "resource_not_found"
    assert sb.balance(account.client_id) == 9_999


async def test_asgi_transport_sees_the_reset_as_an_app_exception(
    sb: Sandbox, account: SandboxAccount
):
    sb.inject_fault(reset="before_response")
    transport = httpx.ASGITransport(app=sb.asgi_app())
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        with pytest.raises(InjectedReset):
            await client.get("/v1/api/me/products", headers=auth(account))


class Harness:
    """Feeds one request to an ASGI app and records what it sends."""

    def __init__(self, messages: list[Message]) -> None:
        self.incoming = messages
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        return self.incoming.pop(0)

    async def send(self, message: Message) -> None:
        self.sent.append(message)


def _scope(
    account: SandboxAccount, method: str = "GET", path: str = "/v1/api/me/products"
) -> dict[str, Any]:
    headers = [(name.lower().encode(), value.encode()) for name, value in auth(account).items()]
    headers.append((b"content-type", b"application/json"))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
    }


async def _run(sb: Sandbox, scope: dict[str, Any], messages: list[Message]) -> Harness:
    harness = Harness(messages)
    await sb.asgi_app()(scope, harness.receive, harness.send)
    return harness


async def test_harness_plain_request(sb: Sandbox, account: SandboxAccount):
    harness = await _run(sb, _scope(account), [{"type": "http.request", "body": b""}])
    start, body = harness.sent
    assert start["status"] == 200
    assert (b"content-type", b"application/json") in start["headers"]
    assert body == {"type": "http.response.body", "body": body["body"], "more_body": False}


async def test_harness_body_in_chunks(sb: Sandbox, account: SandboxAccount):
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    payload = f'{{"mobileNumber": "{NUMBER}", "encryptedMobileNumber": "{proof}"}}'.encode()
    chunks = [
        {"type": "http.request", "body": payload[:10], "more_body": True},
        {"type": "http.request", "body": payload[10:], "more_body": False},
    ]
    harness = await _run(sb, _scope(account, "POST", "/v1/api/verify"), chunks)
    assert harness.sent[0]["status"] == 200
    assert b'"validNumber":true' in harness.sent[1]["body"]


async def test_harness_reset_before_response_sends_nothing(sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(reset="before_response", delay=0.01)
    harness = Harness([{"type": "http.request", "body": b""}])
    with pytest.raises(InjectedReset):
        await sb.asgi_app()(_scope(account), harness.receive, harness.send)
    assert harness.sent == []


async def test_harness_mid_body_reset(sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(reset="mid_body")
    harness = Harness([{"type": "http.request", "body": b""}])
    with pytest.raises(InjectedReset):
        await sb.asgi_app()(_scope(account), harness.receive, harness.send)
    start, partial = harness.sent
    length = int(dict(start["headers"])[b"content-length"])
    assert partial["more_body"] is True
    assert 0 < len(partial["body"]) < length


async def test_harness_oversized_body_is_413_without_reading_everything(
    sb: Sandbox, account: SandboxAccount
):
    chunk = b"x" * (64 * 1024)
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": True} for _ in range(100)
    ]
    harness = await _run(sb, _scope(account, "POST", "/v1/api/verify"), messages)
    assert harness.sent[0]["status"] == 413
    assert len(messages) == 100 - (MAX_BODY_BYTES // len(chunk) + 1)


async def test_harness_disconnect_before_the_body(sb: Sandbox, account: SandboxAccount):
    harness = await _run(
        sb, _scope(account, "POST", "/v1/api/verify"), [{"type": "http.disconnect"}]
    )
    assert harness.sent == []
    assert sb.requests == ()


async def test_lifespan_and_other_scopes(sb: Sandbox):
    harness = Harness([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    await sb.asgi_app()({"type": "lifespan"}, harness.receive, harness.send)
    assert [m["type"] for m in harness.sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    with pytest.raises(ValueError, match="websocket"):
        await sb.asgi_app()({"type": "websocket"}, harness.receive, harness.send)
