"""Un-enveloped 2xx answers (``{}``, a bare object), which the contract asks clients
to tolerate, through every driver against a loopback server.

The rule (docs/errors.md): a JSON object without a ``success`` field is the ``data`` (a
top-level ``data`` is unwrapped); it is then read like any ``data``: raw results take it as it
is, typed results still need their fields (a verdict is never guessed). A ``success`` that is
not a boolean, an ``error`` object and a JSON value that is not an object are refused. Key
endpoints have their own rule (test_key_answers.py).
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from authmatech import ResponseValidationError, models

from .support import DRIVERS, NUMBER, RawRequest, RawServer, call_with, response


def _answer(body: bytes) -> Any:
    def handle(conn: socket.socket, request: RawRequest) -> bool:
        conn.sendall(response(200, body, ("Content-Type: application/json",)))
        return True

    return handle


def _products(client: Any) -> Any:
    return client.account.products()


def _verifications(client: Any) -> Any:
    return client.account.verifications()


def _verify(client: Any) -> Any:
    return client.verify(NUMBER, "BLOB")


def _trust(client: Any) -> Any:
    return client.intelligence.trust_score({"mobileNumber": NUMBER})


TOLERATED = [
    ("products-empty", _products, {}, models.ApiResult(data={})),
    (
        "products-bare",
        _products,
        {"products": ["VERIFY"]},
        models.ApiResult(data={"products": ["VERIFY"]}),
    ),
    (
        "products-data-only",
        _products,
        {"data": {"products": []}},
        models.ApiResult(data={"products": []}),
    ),
    (
        "verifications-data-array",
        _verifications,
        {"data": [{"id": 1}]},
        models.ApiResult(data=[{"id": 1}]),
    ),
    ("verify-bare", _verify, {"validNumber": False}, models.VerifyResult(valid_number=False)),
    (
        "trust-bare",
        _trust,
        {"trustScore": 81, "transactionId": "TR-1"},
        models.TrustScore(trust_score=81, transaction_id="TR-1"),
    ),
    ("trust-empty", _trust, {}, models.TrustScore()),
]

REFUSED = [
    ("verify-empty", _verify, {}, "data does not match verify's result"),
    ("verify-array", _verify, [], "nor a JSON object"),
    ("verifications-array", _verifications, [{"id": 1}], "nor a JSON object"),
    ("products-error-object", _products, {"error": "nope"}, "an error object"),
    (
        "products-bad-success",
        _products,
        {"success": "true", "data": {}},
        "success is not a boolean",
    ),
]


def _options(server: RawServer) -> dict[str, Any]:
    return {
        "client_id": "cl_bare",
        "api_key": "ak_bare_0123456789",
        "base_url": server.url,
        "max_retries": 0,
    }


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(
    ("call", "body", "expected"), [c[1:] for c in TOLERATED], ids=[c[0] for c in TOLERATED]
)
def test_an_unenveloped_answer_is_read_as_the_data(
    driver: str, call: Any, body: Any, expected: Any
) -> None:
    with RawServer(_answer(json.dumps(body).encode())) as server:
        outcome = call_with(driver, _options(server), call)
    assert outcome == expected, repr(outcome)


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(
    ("call", "body", "why"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_an_unenveloped_answer_without_what_the_result_needs_is_refused(
    driver: str, call: Any, body: Any, why: str
) -> None:
    with RawServer(_answer(json.dumps(body).encode())) as server:
        outcome = call_with(driver, _options(server), call)
    assert type(outcome) is ResponseValidationError, repr(outcome)
    assert why in str(outcome)
