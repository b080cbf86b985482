"""Key rotation against a loopback server that behaves like Authmatech: the old key is retired
the moment a new one is issued. Every driver (sync, asyncio, trio, aiohttp).

A rotation never hangs (a 401 to it is raised at once; every wait is bounded by the waiting
call's deadline), rotations on one client are serialised (each sends the key the previous one
issued), and a call answered 401 during a rotation waits for it and is resent with the new key.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import anyio.to_thread
import pytest

from authmatech import APITimeoutError, AuthenticationError, Secret, Timeout

from .support import (
    ASYNC_DRIVERS,
    DRIVERS,
    NUMBER,
    RawRequest,
    RawServer,
    envelope,
    make_client,
    owned_transport,
    response,
    run_async,
)

CLIENT_ID = "cl_rotation"
OLD_KEY = "ak_rotation_old_0123456789"
SECRET = "cs_rotation_0123456789"
TIMEOUT = Timeout(connect=2, read=4, write=2, pool=2, total=5)
#: Far longer than any of these tests may take: a call still running then has hung.
WATCHDOG = 20.0


def _unauthorized() -> bytes:
    body = json.dumps(
        {
            "success": False,
            "messages": [
                {"type": "FAILURE", "message": "Unauthorized", "httpStatus": "UNAUTHORIZED"}
            ],
            "data": None,
        }
    ).encode()
    return response(401, body, ("Content-Type: application/json",))


def _ok(data: Any, status: int = 200) -> bytes:
    return response(status, envelope(data), ("Content-Type: application/json",))


class KeyServer:
    """Authmatech's key rules: one valid key; a rotation with it retires it at once and
    answers (after ``delay`` seconds) with the next one; any other key is a 401."""

    def __init__(self, key: str = OLD_KEY, delay: float = 0.0) -> None:
        self.key = key
        self.delay = delay
        self.issued: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, conn: socket.socket, request: RawRequest) -> bool:
        sent = request.headers.get("x-api-key")
        rotation = request.path.endswith(("/rotate", "/rotate-key", "/generate"))
        with self._lock:
            valid = sent == self.key
            if valid and rotation:
                self.key = f"ak_rotation_new_{len(self.issued) + 1:04d}"
                self.issued.append(self.key)
            new_key = self.key
        if not valid:
            conn.sendall(_unauthorized())
        elif rotation:
            time.sleep(self.delay)
            conn.sendall(_ok({"newApiKey": new_key}))
        else:
            conn.sendall(_ok({"validNumber": True}))
        return True

    def keys_sent(self, server: RawServer, suffix: str) -> list[str | None]:
        return [r.headers.get("x-api-key") for r in server.requests if r.path.endswith(suffix)]


Step = Callable[[Any], Any]


def _run_together(
    driver: str,
    options: dict[str, Any],
    steps: list[tuple[Callable[[], None] | None, Step]],
) -> list[Any]:
    """Start every ``(before, call)`` at once on one client (threads for ``sync``, tasks
    otherwise); ``before`` (a blocking wait, e.g. for the server to see a request) runs first.
    Returns each call's result or exception; fails the test if any call outlives WATCHDOG."""
    results: list[Any] = [None] * len(steps)
    if driver.startswith("sync"):
        with make_client(driver, **options) as client:

            def one(index: int) -> None:
                before, call = steps[index]
                if before is not None:
                    before()
                try:
                    results[index] = call(client)
                except Exception as error:
                    results[index] = error

            pool = ThreadPoolExecutor(len(steps))
            futures = [pool.submit(one, index) for index in range(len(steps))]
            for future in futures:
                future.result(timeout=WATCHDOG)  # raises TimeoutError if a call hangs
            pool.shutdown()
        return results

    async def main() -> None:
        async with make_client(driver, **options) as client, owned_transport(client):

            async def one(index: int) -> None:
                before, call = steps[index]
                if before is not None:
                    await anyio.to_thread.run_sync(before)
                try:
                    results[index] = await call(client)
                except Exception as error:
                    results[index] = error

            with anyio.fail_after(WATCHDOG):
                async with anyio.create_task_group() as tg:
                    for index in range(len(steps)):
                        tg.start_soon(one, index)

    run_async(driver, main)
    return results


def _options(server: RawServer, **extra: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "api_key": OLD_KEY,
        "client_secret": SECRET,
        "base_url": server.url,
        "timeout": TIMEOUT,
        "max_retries": 0,
    }
    options.update(extra)
    return options


def _rotate(client: Any) -> Any:
    return client.account.rotate_api_key()


def _verify(client: Any) -> Any:
    return client.verify(NUMBER, "BLOB")


def _saw(server: RawServer, suffix: str, count: int = 1) -> Callable[[], None]:
    return lambda: server.wait_for(
        lambda requests: sum(r.path.endswith(suffix) for r in requests) >= count
    )


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_rotation_answered_401_raises_at_once(driver: str) -> None:
    """Today's bug: the rotation waited for the rotation under way (itself), for ever."""
    keys = KeyServer(key="ak_the_server_knows_another")
    with RawServer(keys) as server:
        started = time.monotonic()
        rotation, verify = _run_together(
            driver, _options(server), [(None, _rotate), (_saw(server, "/rotate"), _verify)]
        )
        elapsed = time.monotonic() - started
        assert type(rotation) is AuthenticationError, repr(rotation)
        assert "client secret" in str(rotation)
        assert type(verify) is AuthenticationError, repr(verify)
        assert keys.keys_sent(server, "/rotate") == [OLD_KEY]  # never resent
        assert keys.issued == []
    assert elapsed < TIMEOUT.total, f"the 401 took {elapsed:.2f} s to surface"


@pytest.mark.parametrize("driver", DRIVERS)
def test_concurrent_rotations_are_serialised(driver: str) -> None:
    """Each rotation sends the key the previous one issued; the callback hears of every key,
    in the order they were issued, and the client ends with the last one."""
    keys = KeyServer(delay=0.1)
    notified: list[str] = []
    with RawServer(keys) as server:
        options = _options(server, on_api_key_rotated=lambda key: notified.append(key.reveal()))
        results = _run_together(driver, options, [(None, _rotate)] * 3)
        assert all(not isinstance(result, Exception) for result in results), results
        assert sorted(result.api_key.reveal() for result in results) == keys.issued
        assert keys.keys_sent(server, "/rotate") == [OLD_KEY, *keys.issued[:-1]]
    assert len(keys.issued) == 3
    assert notified == keys.issued


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_401_during_a_rotation_waits_for_it_and_is_resent_with_the_new_key(
    driver: str,
) -> None:
    keys = KeyServer(delay=0.4)
    with RawServer(keys) as server:
        rotation, verify = _run_together(
            driver, _options(server), [(None, _rotate), (_saw(server, "/rotate"), _verify)]
        )
        assert rotation.api_key.reveal() == keys.issued[0]
        assert verify.valid_number is True
        assert keys.keys_sent(server, "/verify") == [OLD_KEY, keys.issued[0]]


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_401_waits_for_a_rotation_no_longer_than_its_own_deadline(driver: str) -> None:
    keys = KeyServer(delay=1.2)
    short = Timeout(connect=0.4, read=0.4, write=0.4, pool=0.4, total=0.4)

    def impatient(client: Any) -> Any:
        return client.with_options(timeout=short).verify(NUMBER, "BLOB")

    with RawServer(keys) as server:
        rotation, verify = _run_together(
            driver, _options(server), [(None, _rotate), (_saw(server, "/rotate"), impatient)]
        )
        assert type(verify) is AuthenticationError, repr(verify)
        assert rotation.api_key.reveal() == keys.issued[0]
        assert keys.keys_sent(server, "/verify") == [OLD_KEY]


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_second_rotation_gives_up_before_sending_when_its_deadline_runs_out(
    driver: str,
) -> None:
    keys = KeyServer(delay=0.8)
    short = Timeout(connect=0.3, read=0.3, write=0.3, pool=0.3, total=0.3)

    def impatient(client: Any) -> Any:
        return client.with_options(timeout=short).account.rotate_api_key()

    with RawServer(keys) as server:
        first, second = _run_together(
            driver, _options(server), [(None, _rotate), (_saw(server, "/rotate"), impatient)]
        )
        assert first.api_key.reveal() == keys.issued[0]
        assert type(second) is APITimeoutError, repr(second)
        assert second.maybe_processed is False
        assert "rotation" in str(second)
        assert keys.keys_sent(server, "/rotate") == [OLD_KEY]


@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_an_async_key_provider_that_never_answers_is_bounded_by_the_deadline(
    driver: str,
) -> None:
    async def never() -> Secret:
        await anyio.sleep_forever()
        raise AssertionError

    with RawServer(KeyServer()) as server:
        options = _options(server, api_key=never, timeout=Timeout(total=0.3))
        (outcome,) = _run_together(driver, options, [(None, _verify)])
        assert type(outcome) is APITimeoutError, repr(outcome)
        assert outcome.maybe_processed is False
        assert "api_key provider" in str(outcome)
        assert server.count == 0


@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_a_rotation_cancelled_by_the_caller_still_delivers_the_new_key(driver: str) -> None:
    """The server retires the old key as it answers: an outer timeout shorter than the
    rotation must not make the client drop the answer."""
    keys = KeyServer(delay=0.3)
    notified: list[str] = []
    with RawServer(keys) as server:
        options = _options(server, on_api_key_rotated=lambda key: notified.append(key.reveal()))

        async def main() -> str | None:
            async with make_client(driver, **options) as client, owned_transport(client):
                with anyio.move_on_after(0.05):
                    await client.account.rotate_api_key()
                fingerprint: str | None = client.api_key_fingerprint
                return fingerprint

        fingerprint = run_async(driver, main)
    assert keys.issued, "the rotation never reached the server"
    assert notified == keys.issued
    assert fingerprint == Secret(keys.issued[0]).fingerprint
