"""Helpers shared by the sandbox tests: drive the sans-IO core and read its envelopes."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from authmatech.sandbox import Sandbox, SandboxAccount, SandboxReply, SandboxRequest

NUMBER = "+962791234567"
OTHER_NUMBER = "+962781111122"
BASE_URL = "https://service.authmatech.com"
REQUEST_ID = re.compile(r"req_[0-9a-f]{24}")

SUCCESS_MESSAGE = {
    "type": "SUCCESS",
    "code": None,
    "message": None,
    "httpStatus": "OK",
    "technical": False,
    "arguments": None,
}
UNAUTHORIZED = {
    "success": False,
    "messages": [
        {
            "type": "FAILURE",
            "code": None,
            "message": "Unauthorized",
            "httpStatus": "UNAUTHORIZED",
            "technical": False,
            "arguments": None,
        }
    ],
    "data": None,
}
RATE_LIMITED = {
    "success": False,
    "messages": [
        {
            "type": "FAILURE",
            "code": None,
            "message": "Rate limit exceeded.",
            "httpStatus": "TOO_MANY_REQUESTS",
            "technical": False,
            "arguments": None,
        }
    ],
    "data": None,
}


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def auth(account: SandboxAccount) -> dict[str, str]:
    return {"X-CLIENT-ID": account.client_id, "X-API-KEY": account.api_key.reveal()}


def sdk_auth(account: SandboxAccount) -> dict[str, str]:
    return {"X-CLIENT-ID": account.client_id, "X-SDK-TOKEN": account.sdk_token.reveal()}


def call(
    sb: Sandbox,
    method: str,
    path: str,
    *,
    account: SandboxAccount | None = None,
    headers: Mapping[str, str] | None = None,
    json_body: object = None,
    body: bytes | None = None,
    query: Mapping[str, str] | None = None,
) -> SandboxReply:
    """One request through ``sb.handle``; ``account`` supplies the API-key header pair."""
    sent: dict[str, str] = {}
    if account is not None:
        sent.update(auth(account))
    if json_body is not None:
        sent["Content-Type"] = "application/json"
        body = json.dumps(json_body).encode()
    sent.update(headers or {})
    return sb.handle(SandboxRequest.of(method, path, query=query, headers=sent, body=body or b""))


def envelope(reply: SandboxReply) -> dict[str, Any]:
    """The decoded envelope, after checking the headers every answer carries."""
    assert reply.header("content-type") == "application/json"
    assert REQUEST_ID.fullmatch(reply.header("x-request-id") or "")
    document = reply.json()
    assert isinstance(document, dict)
    assert set(document) == {"success", "messages", "data"}
    return document


def data(reply: SandboxReply, status: int = 200) -> Any:
    """``data`` of a success envelope (asserting the status and the SUCCESS message)."""
    document = envelope(reply)
    assert reply.status == status, document
    assert document["success"] is True
    name = {200: "OK", 201: "CREATED"}[status]
    assert document["messages"] == [{**SUCCESS_MESSAGE, "httpStatus": name}]
    return document["data"]


def failure(reply: SandboxReply, status: int) -> dict[str, Any]:
    """The single FAILURE message of an error envelope (asserting status and shape)."""
    document = envelope(reply)
    assert reply.status == status, document
    assert document["success"] is False
    assert document["data"] is None
    [message] = document["messages"]
    assert message["type"] == "FAILURE"
    assert message["technical"] is False
    assert message["arguments"] is None
    return dict(message)


def verify(
    sb: Sandbox,
    account: SandboxAccount,
    number: str,
    proof: str,
    *,
    mask: bool = False,
    **fields: str,
) -> SandboxReply:
    query = {"maskMobile": "true"} if mask else None
    body = {"mobileNumber": number, "encryptedMobileNumber": proof, **fields}
    return call(sb, "POST", "/v1/api/verify", account=account, json_body=body, query=query)
