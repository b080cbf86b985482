"""An ``api_key`` provider with an ``unauthorized()`` method (a fleet watcher's key) hears of a
401 before the client reads the key again, so a worker whose key was rotated elsewhere looks
for the new one at once instead of failing."""

from __future__ import annotations

import anyio
import pytest

import authmatech

from .conftest import NUMBER, Script, failure, make_async, make_sync, ok

OLD, NEW = "ak_live_old_key_0001", "ak_live_new_key_0002"
UNAUTHORIZED = failure(401, "Invalid API key.", "UNAUTHORIZED")


class Store:
    """A secret store whose key was rotated elsewhere; the cached value is refreshed only when
    ``unauthorized()`` is called."""

    def __init__(self) -> None:
        self.cached, self.told = OLD, 0

    def __call__(self) -> str:
        return self.cached

    def unauthorized(self) -> None:
        self.told += 1
        self.cached = NEW


class AsyncStore(Store):
    async def __call__(self) -> str:  # type: ignore[override]
        await anyio.lowlevel.checkpoint()
        return self.cached

    async def unauthorized(self) -> None:  # type: ignore[override]
        await anyio.lowlevel.checkpoint()
        super().unauthorized()


def answers_by_key(request: object) -> object:
    key = request.headers["x-api-key"]  # type: ignore[attr-defined]
    return ok({"validNumber": True}) if key == NEW else UNAUTHORIZED


@pytest.mark.parametrize("paced", [False, True], ids=["unpaced", "paced"])
def test_a_401_tells_the_provider_which_finds_the_new_key(paced: bool) -> None:
    store = Store()
    script = Script(answers_by_key)
    budget = authmatech.RateBudget(limit=100, per=1.0) if paced else None
    client = make_sync(script, api_key=store, rate_budget=budget)
    assert client.verify(NUMBER, "BLOB").valid_number
    assert store.told == 1
    assert [r.headers["x-api-key"] for r in script.requests] == [OLD, NEW]


def test_a_provider_without_the_hook_is_read_again_as_before() -> None:
    script = Script(answers_by_key)
    client = make_sync(script, api_key=lambda: OLD)
    with pytest.raises(authmatech.AuthenticationError):
        client.verify(NUMBER, "BLOB")
    assert len(script.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("kind", [Store, AsyncStore], ids=["sync hook", "async hook"])
async def test_async_a_401_tells_the_provider_which_finds_the_new_key(kind: type[Store]) -> None:
    store = kind()
    script = Script(answers_by_key)
    async with make_async(script, api_key=store) as client:
        assert (await client.verify(NUMBER, "BLOB")).valid_number
    assert store.told == 1
    assert [r.headers["x-api-key"] for r in script.requests] == [OLD, NEW]


@pytest.mark.anyio
async def test_async_a_hook_that_never_answers_is_bounded_by_the_deadline() -> None:
    class Stuck(AsyncStore):
        async def unauthorized(self) -> None:
            await anyio.sleep_forever()

    script = Script(answers_by_key)
    timeout = authmatech.Timeout(connect=0.5, read=0.5, write=0.5, pool=0.5, total=0.5)
    async with make_async(script, api_key=Stuck(), timeout=timeout) as client:
        with anyio.fail_after(5):
            with pytest.raises(authmatech.APITimeoutError):
                await client.verify(NUMBER, "BLOB")
