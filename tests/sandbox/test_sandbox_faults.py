"""Fault injection: what the sans-IO core answers, and what the sync transport raises."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sandbox_helpers import BASE_URL, NUMBER, auth, call, data, envelope, failure, verify

from authmatech.sandbox import Fault, Sandbox, SandboxAccount, SandboxReply

PRODUCTS = "/v1/api/me/products"


def _verify(sb: Sandbox, account: SandboxAccount) -> SandboxReply:
    return verify(sb, account, NUMBER, sb.device_proof(NUMBER).encrypted_mobile_number)


def test_status_fault_answers_an_envelope_and_skips_the_service(
    sb: Sandbox, account: SandboxAccount
):
    fault = sb.inject_fault(status=500)
    assert isinstance(fault, Fault)
    reply = _verify(sb, account)
    message = failure(reply, 500)
    assert (message["code"], message["httpStatus"]) == (
        "internal_server_error",
        "INTERNAL_SERVER_ERROR",
    )
    assert message["message"] == "Internal Server Error."
    assert sb.balance(account.client_id) == 10_000
    assert sb.requests[-1].faulted
    assert sb.requests[-1].status == 500
    assert data(_verify(sb, account)) == {"validNumber": True}
    assert not sb.requests[-1].faulted


def test_processed_status_fault_changes_state_then_fails(sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(status=503, processed=True)
    assert failure(_verify(sb, account), 503)["httpStatus"] == "SERVICE_UNAVAILABLE"
    assert sb.balance(account.client_id) == 9_999


def test_429_with_retry_after(sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(status=429, headers={"Retry-After": "7"})
    reply = call(sb, "GET", PRODUCTS, account=account)
    assert failure(reply, 429)["httpStatus"] == "TOO_MANY_REQUESTS"
    assert reply.header("Retry-After") == "7"


def test_html_body_from_a_proxy(sb: Sandbox, account: SandboxAccount):
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    sb.inject_fault(status=502, body=html, headers={"Content-Type": "text/html"})
    reply = call(sb, "GET", PRODUCTS, account=account)
    assert (reply.status, reply.body, reply.header("content-type")) == (502, html, "text/html")
    assert reply.header("x-request-id")


def test_times_and_clear(sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(status=500, times=3)
    assert [call(sb, "GET", PRODUCTS, account=account).status for _ in range(4)] == [
        500,
        500,
        500,
        200,
    ]
    sb.inject_fault(status=500, times=5)
    sb.clear_faults()
    assert call(sb, "GET", PRODUCTS, account=account).status == 200


def test_faults_match_path_and_method(sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(status=500, path="/v1/api/trust/score")
    sb.inject_fault(status=418, method="get", path="/v1/api/me/*")
    assert call(sb, "POST", "/v1/api/verify", account=account, json_body={}).status == 400
    assert call(sb, "GET", "/v1/api/me/usage", account=account).status == 418
    assert call(sb, "GET", "/v1/api/me/usage", account=account).status == 200
    assert call(sb, "POST", "/v1/api/trust/score", account=account, json_body={}).status == 500


def test_faults_apply_in_order(sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(status=500)
    sb.inject_fault(status=503)
    assert [call(sb, "GET", PRODUCTS, account=account).status for _ in range(3)] == [500, 503, 200]


def test_malformed_body_is_cut_json(sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(malformed_body=True)
    reply = _verify(sb, account)
    assert reply.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.body)
    assert reply.body.startswith(b'{"success":true')
    assert sb.balance(account.client_id) == 9_999


def test_reset_before_response(sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(reset="before_response")
    reply = _verify(sb, account)
    assert reply.reset == "before_response"
    assert sb.requests[-1].status is None
    assert sb.balance(account.client_id) == 10_000
    sb.inject_fault(reset="before_response", processed=True)
    _verify(sb, account)
    assert sb.balance(account.client_id) == 9_999


def test_mid_body_reset_and_delay_travel_on_the_reply(sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(reset="mid_body", delay=0.25)
    reply = _verify(sb, account)
    assert (reply.reset, reply.delay, reply.status) == ("mid_body", 0.25, 200)
    assert 0 < len(reply.partial_body) < len(reply.body)
    assert reply.body.startswith(reply.partial_body)
    assert envelope(reply)["data"] == {"validNumber": True}
    assert sb.balance(account.client_id) == 9_999


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "must change something"),
        ({"status": 500, "times": 0}, "times"),
        ({"delay": -1.0}, "delay"),
        ({"delay": float("nan")}, "delay"),
        ({"status": 99}, "status"),
        ({"status": 600}, "status"),
        ({"reset": "sometimes"}, "reset"),
        ({"delay": 1.0, "processed": False}, "processed=False"),
    ],
)
def test_fault_validation(sb: Sandbox, kwargs: dict[str, object], message: str):
    with pytest.raises(ValueError, match=message):
        sb.inject_fault(**kwargs)  # pyright: ignore[reportArgumentType]


# -- through the sync httpx transport -------------------------------------------------------


def _client(sb: Sandbox, account: SandboxAccount, timeout: float = 5.0) -> httpx.Client:
    return httpx.Client(
        transport=sb.transport(), base_url=BASE_URL, headers=auth(account), timeout=timeout
    )


def _payload(sb: Sandbox) -> dict[str, str]:
    return {
        "mobileNumber": NUMBER,
        "encryptedMobileNumber": sb.device_proof(NUMBER).encrypted_mobile_number,
    }


def test_sync_reset_before_response_raises_remote_protocol_error(
    sb: Sandbox, account: SandboxAccount
):
    sb.inject_fault(reset="before_response")
    with _client(sb, account) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            client.post("/v1/api/verify", json=_payload(sb))
        assert client.post("/v1/api/verify", json=_payload(sb)).status_code == 200


def test_sync_mid_body_reset_raises_read_error(sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(reset="mid_body")
    with _client(sb, account) as client:
        with pytest.raises(httpx.ReadError):
            client.post("/v1/api/verify", json=_payload(sb))
        sb.inject_fault(reset="mid_body")
        with client.stream("POST", "/v1/api/verify", json=_payload(sb)) as response:
            assert response.status_code == 200
            assert int(response.headers["content-length"]) > 0
            with pytest.raises(httpx.ReadError):
                response.read()
    assert sb.balance(account.client_id) == 9_998


def test_sync_delay_beyond_the_read_timeout_times_out_after_processing(
    sb: Sandbox, account: SandboxAccount
):
    sb.inject_fault(delay=5.0)
    with _client(sb, account, timeout=0.05) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            client.post("/v1/api/verify", json=_payload(sb))
        assert 0.04 <= time.monotonic() - started < 1.0
    assert sb.balance(account.client_id) == 9_999


def test_sync_short_delay_answers_late(sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(delay=0.05)
    with _client(sb, account) as client:
        started = time.monotonic()
        response = client.get(PRODUCTS)
        assert time.monotonic() - started >= 0.05
        assert response.status_code == 200


def test_sync_malformed_and_html(sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(malformed_body=True)
    sb.inject_fault(
        status=502, body=b"<html>bad gateway</html>", headers={"Content-Type": "text/html"}
    )
    with _client(sb, account) as client:
        broken = client.get(PRODUCTS)
        with pytest.raises(json.JSONDecodeError):
            broken.json()
        assert broken.headers["content-length"] == str(len(broken.content))
        html = client.get(PRODUCTS)
        assert (html.status_code, html.text, html.headers["content-type"]) == (
            502, "<html>bad gateway</html>", "text/html",
        )  # fmt: skip
