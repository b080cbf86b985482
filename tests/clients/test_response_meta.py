"""Every successful result carries the response it was read from (``result.response``): the
request id support asks for, the status, the headers and the raw body. It is metadata: it
takes no part in equality, repr or hashing, and survives pickling."""

from __future__ import annotations

import pickle

import httpx
import pytest

import authmatech
from authmatech import VerifyResult

from .conftest import NUMBER, Script, make_async, make_sync, ok

REQUEST_ID = "req-7f3a"


def _verify_answer() -> httpx.Response:
    return ok({"validNumber": False}, **{"X-Request-Id": REQUEST_ID, "X-Extra": "1"})


def test_a_verify_result_carries_request_id_status_headers_and_body() -> None:
    with make_sync(Script(_verify_answer())) as client:
        result = client.verify(NUMBER, "proof")
    assert result.valid_number is False
    response = result.response
    assert response is not None
    assert response.request_id == REQUEST_ID
    assert response.status_code == 200
    assert response.headers["x-extra"] == "1"
    assert b'"validNumber":false' in response.body.replace(b" ", b"")


@pytest.mark.anyio
async def test_the_async_client_too() -> None:
    async with make_async(Script(_verify_answer())) as client:
        result = await client.verify(NUMBER, "proof")
    assert result.response is not None
    assert result.response.request_id == REQUEST_ID


def test_metadata_takes_no_part_in_equality_repr_or_hash() -> None:
    with make_sync(Script(_verify_answer())) as client:
        first = client.verify(NUMBER, "proof")
    by_hand = VerifyResult(valid_number=False)
    assert by_hand.response is None
    assert first == by_hand
    assert hash(first) == hash(by_hand)
    assert repr(first) == repr(by_hand)
    assert REQUEST_ID not in repr(first)


def test_a_result_pickles_with_its_response() -> None:
    with make_sync(Script(_verify_answer())) as client:
        result = client.verify(NUMBER, "proof")
    copy = pickle.loads(pickle.dumps(result))
    assert copy == result
    assert copy.response is not None
    assert copy.response.request_id == REQUEST_ID
    assert copy.response.body == result.response.body  # type: ignore[union-attr]


def test_every_kind_of_result_has_it() -> None:
    answers = Script(
        ok({"trustScore": 80}, **{"X-Request-Id": "t"}),
        ok({"decision": "ALLOW"}, **{"X-Request-Id": "s"}),
        ok({"anomalies": []}, **{"X-Request-Id": "d"}),
        ok({"products": []}, **{"X-Request-Id": "p"}),
    )
    with make_sync(answers) as client:
        signals = {"mobileNumber": NUMBER}
        results = [
            client.intelligence.trust_score(signals),
            client.intelligence.shield_assess(signals),
            client.intelligence.detect_analyze(signals),
            client.account.products(),
        ]
    assert [r.response.request_id for r in results if r.response] == ["t", "s", "d", "p"]


def test_a_new_keys_response_keeps_its_metadata_but_not_the_body_with_the_key() -> None:
    new_key = "ak_live_new_0123456789"
    answer = ok({"newApiKey": new_key}, **{"X-Request-Id": "rot-1"})
    with make_sync(Script(answer)) as client:
        rotated = client.account.rotate_api_key()
    assert rotated.response is not None
    assert rotated.response.request_id == "rot-1"
    assert rotated.response.status_code == 200
    assert rotated.response.body == b""
    assert new_key not in repr(rotated.response)


def test_the_raw_response_is_the_embedders_own() -> None:
    from authmatech import core

    response = core.HttpResponse(
        200, [(b"x-request-id", b"emb-1")], ok({"validNumber": True}).content
    )
    result = core.verify(NUMBER, "proof").parse(response)
    assert result.response is response
    assert authmatech.core.HttpResponse is type(result.response)
