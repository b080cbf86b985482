"""Fixtures for the client tests: a scripted httpx handler that records every request."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import authmatech

CLIENT_ID = "client-123"
API_KEY = "ak_live_0123456789abcdef"
CLIENT_SECRET = "cs_live_fedcba9876543210"
SDK_TOKEN = "sdk_tok_55aa55aa55aa"
NUMBER = "+962791234567"
BASE = "https://service.authmatech.com"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def envelope(
    data: Any = None, *, success: bool = True, status: str = "OK", **message: Any
) -> dict[str, Any]:
    return {
        "success": success,
        "messages": [
            {"type": "SUCCESS" if success else "FAILURE", "httpStatus": status, **message}
        ],
        "data": data,
    }


def ok(data: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(200, json=envelope(data), headers=headers)


def failure(
    status: int, message: str, name: str, code: str | None = None, **headers: str
) -> httpx.Response:
    body = envelope(None, success=False, status=name, message=message, code=code)
    return httpx.Response(status, json=body, headers=headers)


class Script:
    """An httpx handler that answers from a list (the last answer repeats) and records requests.

    An answer may be an ``httpx.Response``, an exception to raise, or a callable taking the
    request.
    """

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers) or [ok({"validNumber": True})]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            answer = answer(request)
        assert isinstance(answer, httpx.Response)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    @property
    def count(self) -> int:
        return len(self.requests)

    def body(self, index: int = -1) -> Any:
        content = self.requests[index].content
        return json.loads(content) if content else None


class Sleeps:
    """Injected sleep that records instead of waiting (sync and async flavours)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_sync(script: Script, **options: Any) -> authmatech.Client:
    options.setdefault("client_id", CLIENT_ID)
    options.setdefault("api_key", API_KEY)
    options.setdefault("client_secret", CLIENT_SECRET)
    options.setdefault("sleep", Sleeps())
    http = httpx.Client(transport=httpx.MockTransport(script))
    return authmatech.Client(http_client=http, **options)


def make_async(script: Script, **options: Any) -> authmatech.AsyncClient:
    options.setdefault("client_id", CLIENT_ID)
    options.setdefault("api_key", API_KEY)
    options.setdefault("client_secret", CLIENT_SECRET)
    options.setdefault("sleep", Sleeps().asleep)
    http = httpx.AsyncClient(transport=httpx.MockTransport(script))
    return authmatech.AsyncClient(http_client=http, **options)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AUTHMATECH_CLIENT_ID",
        "AUTHMATECH_API_KEY",
        "AUTHMATECH_CLIENT_SECRET",
        "AUTHMATECH_SDK_TOKEN",
        "AUTHMATECH_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


Maker = Callable[..., Any]
