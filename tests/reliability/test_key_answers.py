"""A 2xx to a key endpoint never loses the key, whatever the server's answer looks like.

A loopback server answers the rotation (or generation) with a hostile body, then a verify. For
each answer, on every driver (sync, asyncio, trio, aiohttp): either the client adopts the key
(returned, handed to ``on_api_key_rotated``, sent by the next request), or it raises a
``KeyResponseError`` that carries the whole answer (and the key it found, which the callback
got too) as a ``Secret`` that never shows in ``str``/``repr``/logs/pickles.
"""

from __future__ import annotations

import json
import logging
import pickle
import socket
from typing import Any

import pytest

from authmatech import AuthmatechError, KeyResponseError, ResponseValidationError, Secret

from .support import DRIVERS, NUMBER, RawRequest, RawServer, call_with, envelope, response

OLD_KEY = "ak_answers_old_0123456789"
SECRET = "cs_answers_0123456789"
NEW = "ak_answers_new_9876543210"
LONG = "ak_" + "x" * 4997


def _json(document: Any) -> bytes:
    return json.dumps(document).encode()


def _env(data: Any) -> bytes:
    return _json({"success": True, "messages": [{"type": "SUCCESS"}], "data": data})


#: (id, body, the key the client must adopt)
ADOPTED = [
    ("documented", _env({"newApiKey": NEW}), NEW),
    ("apiKey", _env({"apiKey": NEW}), NEW),
    ("snake_case", _env({"api_key": NEW}), NEW),
    ("key", _env({"key": NEW, "createdAt": "2026-12-01"}), NEW),
    ("data-is-the-key", _env(NEW), NEW),
    ("nested", _env({"apiKey": {"id": 7, "value": NEW}}), NEW),
    ("un-enveloped", _json({"newApiKey": NEW}), NEW),
    ("bare-string", _json(NEW), NEW),
    ("surrounding-whitespace", _env({"newApiKey": f"  {NEW}\r\n"}), NEW),
    ("inner-space", _env({"newApiKey": "ak new key"}), "ak new key"),
    ("quotes", _env({"newApiKey": '"ak_quoted"'}), '"ak_quoted"'),
    ("5000-characters", _env({"newApiKey": LONG}), LONG),
]

#: (id, status, body, the key found but not usable, or None)
HANDED_OVER = [
    ("empty-object", 200, b"{}", None),
    ("empty-data", 200, _env({}), None),
    ("null-data", 200, _env(None), None),
    ("other-name", 200, _env({"credential_v2": NEW}), None),
    ("client-secret-echo", 200, _env({"secretKey": SECRET}), None),
    ("empty-body", 200, b"", None),
    ("no-content", 204, b"", None),
    ("html", 200, b"<html>" + NEW.encode() + b"</html>", None),
    ("line-break", 200, _env({"newApiKey": "ak_one\r\nX-Injected: 1"}), "ak_one\r\nX-Injected: 1"),
    ("non-ascii", 200, _env({"newApiKey": "ak_clé_42"}), "ak_clé_42"),
    ("control", 200, _env({"apiKey": "ak_\x00_nul"}), "ak_\x00_nul"),
]


class Answers:
    """Answers the key call with ``body``; checks the key of every other call against the
    key the server issued (``issued``), or the old one if it issued none."""

    def __init__(self, status: int, body: bytes, issued: str | None) -> None:
        self.status, self.body, self.issued = status, body, issued

    def __call__(self, conn: socket.socket, request: RawRequest) -> bool:
        if request.path.endswith(("/rotate", "/generate")):
            conn.sendall(response(self.status, self.body, ("Content-Type: application/json",)))
        else:
            conn.sendall(response(200, envelope({"validNumber": True})))
        return True


def _options(server: RawServer, notified: list[Secret]) -> dict[str, Any]:
    return {
        "client_id": "cl_answers",
        "api_key": OLD_KEY,
        "client_secret": SECRET,
        "base_url": server.url,
        "max_retries": 0,
        "on_api_key_rotated": notified.append,
    }


def _key_call_then_verify(driver: str, generate: bool) -> Any:
    def key_call(client: Any) -> Any:
        account = client.account
        return account.generate_api_key() if generate else account.rotate_api_key()

    if driver.startswith("sync"):

        def run(client: Any) -> Any:
            try:
                outcome = key_call(client)
            except AuthmatechError as error:
                outcome = error
            client.verify(NUMBER, "BLOB")
            return outcome

        return run

    async def run_async(client: Any) -> Any:
        try:
            outcome = await key_call(client)
        except AuthmatechError as error:
            outcome = error
        await client.verify(NUMBER, "BLOB")
        return outcome

    return run_async


def _exchange(driver: str, status: int, body: bytes, generate: bool = False) -> Any:
    notified: list[Secret] = []
    with RawServer(Answers(status, body, None)) as server:
        outcome = call_with(
            driver, _options(server, notified), _key_call_then_verify(driver, generate)
        )
        verify_key = server.requests[-1].headers["x-api-key"]
    return outcome, notified, verify_key


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(("body", "key"), [c[1:] for c in ADOPTED], ids=[c[0] for c in ADOPTED])
def test_a_key_the_server_issued_is_adopted_as_it_is(driver: str, body: bytes, key: str) -> None:
    outcome, notified, verify_key = _exchange(driver, 200, body)
    assert not isinstance(outcome, Exception), repr(outcome)
    assert outcome.api_key.reveal() == key
    assert notified == [Secret(key)]
    assert verify_key == key
    assert key not in repr(outcome)


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_generated_key_with_inner_whitespace_is_adopted(driver: str) -> None:
    outcome, notified, verify_key = _exchange(driver, 201, _env({"apiKey": "ak gen 1"}), True)
    assert outcome.api_key.reveal() == "ak gen 1"
    assert notified == [Secret("ak gen 1")]
    assert verify_key == "ak gen 1"


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(
    ("status", "body", "key"), [c[1:] for c in HANDED_OVER], ids=[c[0] for c in HANDED_OVER]
)
def test_an_answer_the_client_cannot_use_reaches_the_caller_whole(
    driver: str, status: int, body: bytes, key: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outcome, notified, verify_key = _exchange(driver, status, body)
    assert type(outcome) is KeyResponseError, repr(outcome)
    assert isinstance(outcome, ResponseValidationError)
    assert outcome.maybe_processed is True
    assert outcome.status_code == status
    assert outcome.endpoint == "POST /v1/api/me/api-key/rotate"
    assert outcome.raw_body is not None
    assert outcome.raw_body.reveal() == body.decode()
    text = str(outcome)
    assert "POST /v1/api/me/api-key/rotate" in text
    assert "may already have retired the old key" in text
    if key is None:
        assert outcome.api_key is None
        assert notified == []
    else:
        assert outcome.api_key == Secret(key)
        assert notified == [Secret(key)]  # the callback still hears of the key
    assert verify_key == OLD_KEY  # nothing usable arrived: the client keeps the old key
    copy = pickle.loads(pickle.dumps(outcome))
    assert type(copy) is KeyResponseError
    assert str(copy) == text
    assert copy.raw_body is None
    assert copy.api_key is None
    shown = text + repr(outcome) + caplog.text + repr(pickle.dumps(outcome))
    for secret in (NEW, SECRET, key or NEW):
        assert secret not in shown


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_failing_callback_on_an_unusable_key_is_the_errors_cause(driver: str) -> None:
    def persist(key: Secret) -> None:
        raise OSError("vault sealed")

    body = _env({"newApiKey": "ak_bad\nkey"})
    with RawServer(Answers(200, body, None)) as server:
        options = _options(server, [])
        options["on_api_key_rotated"] = persist
        outcome = call_with(driver, options, _key_call_then_verify(driver, False))
    assert type(outcome) is KeyResponseError
    assert outcome.api_key == Secret("ak_bad\nkey")
    assert isinstance(outcome.__cause__, OSError)
