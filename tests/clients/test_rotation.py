"""Key rotation: the client switches to the new key atomically, in-flight requests finish with
the old one, derived clients follow, and the new key never leaks."""

from __future__ import annotations

import json
import logging

import anyio
import anyio.lowlevel
import httpx
import pytest

import authmatech

from .conftest import API_KEY, CLIENT_ID, CLIENT_SECRET, NUMBER, Script, make_async, make_sync, ok

NEW_KEY = "ak_live_rotated_999999"


def test_rotation_swaps_the_key_and_notifies() -> None:
    notified: list[authmatech.Secret] = []
    script = Script(ok({"newApiKey": NEW_KEY}), ok({"validNumber": True}))
    client = make_sync(script, on_api_key_rotated=notified.append)
    derived = client.with_options(timeout=3)
    rotated = client.account.rotate_api_key()
    assert rotated.api_key.reveal() == NEW_KEY
    assert NEW_KEY not in repr(rotated)
    assert notified == [authmatech.Secret(NEW_KEY)]
    assert client.api_key_fingerprint == authmatech.Secret(NEW_KEY).fingerprint
    derived.verify(NUMBER, "BLOB")
    assert script.requests[0].headers["x-api-key"] == API_KEY
    assert script.requests[1].headers["x-api-key"] == NEW_KEY


def test_rotation_through_a_derived_client_switches_the_parent() -> None:
    script = Script(ok({"newApiKey": NEW_KEY}), ok({"validNumber": True}))
    client = make_sync(script)
    client.with_options(max_retries=0).account.rotate_client_key()
    client.verify(NUMBER, "BLOB")
    assert script.requests[-1].headers["x-api-key"] == NEW_KEY


def test_rotation_without_a_client_secret_is_refused_before_sending() -> None:
    script = Script()
    client = make_sync(script, client_secret=None)
    with pytest.raises(authmatech.CredentialScopeError) as info:
        client.account.rotate_api_key()
    assert "client secret" in str(info.value)
    assert script.count == 0


def test_generation_switches_to_the_generated_key() -> None:
    notified: list[authmatech.Secret] = []
    script = Script(ok({"apiKey": "ak_generated"}), ok({"validNumber": True}))
    client = make_sync(script, on_api_key_rotated=notified.append)
    assert client.account.generate_api_key().api_key.reveal() == "ak_generated"
    client.verify(NUMBER, "BLOB")
    assert script.requests[-1].headers["x-api-key"] == "ak_generated"
    assert notified == [authmatech.Secret("ak_generated")]


def test_a_request_that_raced_a_rotation_is_resent_with_the_new_key() -> None:
    keys = iter([API_KEY, NEW_KEY])
    unauthorized = httpx.Response(
        401,
        json={
            "success": False,
            "messages": [
                {"type": "FAILURE", "message": "Unauthorized", "httpStatus": "UNAUTHORIZED"}
            ],
            "data": None,
        },
    )
    script = Script(unauthorized, ok({"validNumber": True}))
    client = make_sync(script, api_key=lambda: next(keys))
    assert client.verify(NUMBER, "BLOB").valid_number
    assert [r.headers["x-api-key"] for r in script.requests] == [API_KEY, NEW_KEY]


def test_a_callable_api_key_is_read_before_each_attempt() -> None:
    calls: list[int] = []

    def provider() -> str:
        calls.append(1)
        return f"ak_{len(calls)}"

    script = Script(httpx.ConnectError("refused"), ok({"validNumber": True}))
    make_sync(script, api_key=provider).verify(NUMBER, "BLOB")
    assert [r.headers["x-api-key"] for r in script.requests] == ["ak_1", "ak_2"]


def test_a_provider_returning_junk_gets_a_clear_error() -> None:
    client = make_sync(Script(), api_key=lambda: '"quoted"')
    with pytest.raises(authmatech.ConfigurationError) as info:
        client.verify(NUMBER, "BLOB")
    assert "quotes" in str(info.value)
    assert "quoted" not in str(info.value).replace("quotes", "")


@pytest.mark.anyio
async def test_async_callable_api_key_and_async_callback() -> None:
    seen: list[str] = []

    async def provider() -> authmatech.Secret:
        await anyio.lowlevel.checkpoint()
        return authmatech.Secret(API_KEY)

    async def persist(key: authmatech.Secret) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(key.fingerprint)

    script = Script(
        ok({"validNumber": True}), ok({"newApiKey": NEW_KEY}), ok({"validNumber": True})
    )
    client = make_async(script, api_key=provider, on_api_key_rotated=persist)
    await client.verify(NUMBER, "BLOB")
    await client.account.rotate_api_key()
    await client.verify(NUMBER, "BLOB")
    assert [r.headers["x-api-key"] for r in script.requests] == [API_KEY, API_KEY, NEW_KEY]
    assert seen == [authmatech.Secret(NEW_KEY).fingerprint]


@pytest.mark.anyio
async def test_rotation_with_200_verifies_in_flight() -> None:
    """Every request carries exactly the old or the new key; every request started after the
    swap carries the new one."""
    release = anyio.Event()
    rotated = anyio.Event()
    seen: list[tuple[str, bool]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        key = request.headers["x-api-key"]
        if request.url.path.endswith("/rotate"):
            assert json.loads(request.content) == {"secretKey": CLIENT_SECRET}
            return ok({"newApiKey": NEW_KEY})
        seen.append((key, rotated.is_set()))
        await release.wait()
        return ok({"validNumber": True})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = authmatech.AsyncClient(
        client_id=CLIENT_ID, api_key=API_KEY, client_secret=CLIENT_SECRET, http_client=http
    )
    results: list[bool] = []

    async def verify() -> None:
        results.append((await client.verify(NUMBER, "BLOB")).valid_number)

    async with anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(verify)
        await anyio.wait_all_tasks_blocked()
        await client.account.rotate_api_key()
        rotated.set()
        for _ in range(100):
            tg.start_soon(verify)
        await anyio.wait_all_tasks_blocked()
        release.set()
    await client.aclose()
    await http.aclose()
    assert len(results) == 200
    assert all(results)
    assert {key for key, _ in seen} == {API_KEY, NEW_KEY}
    assert all(key == NEW_KEY for key, after in seen if after)
    assert sum(1 for key, _ in seen if key == API_KEY) == 100


def test_rotated_key_never_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(ok({"newApiKey": NEW_KEY}))
    make_sync(script).account.rotate_api_key()
    text = caplog.text + repr([r.__dict__ for r in caplog.records])
    assert "me/api-key/rotate" in caplog.text
    for secret in (NEW_KEY, API_KEY, CLIENT_SECRET):
        assert secret not in text


def test_a_failing_callback_still_hands_over_the_new_key() -> None:
    def persist(key: authmatech.Secret) -> None:
        raise OSError("secret manager is down")

    script = Script(ok({"newApiKey": NEW_KEY}), ok({"validNumber": True}))
    client = make_sync(script, on_api_key_rotated=persist)
    with pytest.raises(authmatech.RotationCallbackError) as info:
        client.account.rotate_api_key()
    assert info.value.rotated.api_key.reveal() == NEW_KEY
    assert isinstance(info.value.__cause__, OSError)
    assert NEW_KEY not in str(info.value)
    client.verify(NUMBER, "BLOB")
    assert script.requests[-1].headers["x-api-key"] == NEW_KEY


@pytest.mark.anyio
async def test_a_failing_async_callback_still_hands_over_the_new_key() -> None:
    async def persist(key: authmatech.Secret) -> None:
        await anyio.lowlevel.checkpoint()
        raise RuntimeError("vault sealed")

    script = Script(ok({"newApiKey": NEW_KEY}))
    client = make_async(script, on_api_key_rotated=persist)
    with pytest.raises(authmatech.RotationCallbackError) as info:
        await client.account.rotate_client_key()
    assert info.value.rotated.api_key == authmatech.Secret(NEW_KEY)
    assert client.api_key_fingerprint == authmatech.Secret(NEW_KEY).fingerprint


def test_a_sync_client_refuses_an_async_callback_or_provider_up_front() -> None:
    async def persist(key: authmatech.Secret) -> None:
        await anyio.lowlevel.checkpoint()

    async def provider() -> str:
        return API_KEY

    class Provider:
        """An async provider object (a fleet watcher's ``api_key`` is one)."""

        async def __call__(self) -> str:
            return API_KEY

    for options in (
        {"on_api_key_rotated": persist},
        {"api_key": provider},
        {"api_key": Provider()},
    ):
        with pytest.raises(authmatech.ConfigurationError) as info:
            make_sync(Script(), **options)
        assert "async function" in str(info.value)


def test_a_sync_callback_that_returns_an_awaitable_still_hands_over_the_key() -> None:
    async def store(key: authmatech.Secret) -> None:
        await anyio.lowlevel.checkpoint()

    script = Script(ok({"newApiKey": NEW_KEY}))
    client = make_sync(script, on_api_key_rotated=lambda key: store(key))
    with pytest.raises(authmatech.RotationCallbackError) as info:
        client.account.rotate_api_key()
    assert info.value.rotated.api_key.reveal() == NEW_KEY
    assert "cannot await" in str(info.value.__cause__)
