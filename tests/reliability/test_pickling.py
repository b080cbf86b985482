"""Every exception pickles and copies with its message and fields, and never with a secret in
it: one failed call in a ``ProcessPoolExecutor`` worker must not break the pool."""

from __future__ import annotations

import concurrent.futures
import copy
import multiprocessing
import pickle
from typing import Any

import pytest

import authmatech
from authmatech import Secret, errors
from authmatech.models import GeneratedApiKey, Message, RotatedApiKey

NEW_KEY = "ak_live_NEWKEY_0123456789abcdef"
MESSAGES = (Message(type="FAILURE", code="INVALID_MOBILE_NUMBER", message="bad +9627*****67"),)
STATUS: dict[str, Any] = {"code": "C", "messages": MESSAGES, "request_id": "req-1"}


def _samples() -> dict[str, errors.AuthmatechError]:
    rotated = RotatedApiKey(api_key=Secret(NEW_KEY))
    samples: dict[str, errors.AuthmatechError] = {
        "AuthmatechError": errors.AuthmatechError("plain"),
        "ConfigurationError": errors.ConfigurationError("bad base_url"),
        "CredentialScopeError": errors.CredentialScopeError(
            "verify", "API key", ["client ID", "SDK token"]
        ),
        "RequestValidationError": errors.RequestValidationError("not E.164"),
        "APIConnectionError": errors.APIConnectionError("reset", maybe_processed=True),
        "APITimeoutError": errors.APITimeoutError("slow", maybe_processed=False),
        "RateLimitError": errors.RateLimitError("slow down", retry_after=2.5, **STATUS),
        "ResponseValidationError": errors.ResponseValidationError(
            "not JSON", status_code=200, request_id="req-2"
        ),
        "RotationCallbackError": errors.RotationCallbackError(rotated, OSError("store down")),
    }
    if hasattr(errors, "RateBudgetTimeoutError"):
        samples["RateBudgetTimeoutError"] = errors.RateBudgetTimeoutError(
            "no slot in time", max_wait=1.5
        )
    if hasattr(errors, "KeyResponseError"):
        samples["KeyResponseError"] = errors.KeyResponseError(
            "no key in the answer",
            endpoint="POST /v1/api/me/api-key/rotate",
            raw_body=Secret(f'{{"key":"{NEW_KEY}"}}'),
            api_key=Secret(NEW_KEY),
            status_code=200,
            request_id="req-3",
        )
    for name in errors.__all__:
        cls = getattr(errors, name)
        if name not in samples and issubclass(cls, errors.APIStatusError):
            samples[name] = cls("it failed", status_code=418, **STATUS)
    return samples


SAMPLES = sorted(_samples())


def test_every_exception_class_has_a_sample() -> None:
    public = {name for name in errors.__all__ if isinstance(getattr(errors, name), type)}
    assert public <= set(SAMPLES)


def _same(a: BaseException, b: BaseException) -> None:
    assert type(b) is type(a)
    assert str(b) == str(a)
    assert b.args == a.args
    if type(a).__reduce__ is errors.AuthmatechError.__reduce__:
        assert vars(b).keys() == vars(a).keys()
    for name, value in vars(a).items():
        if name in vars(b) and name != "rotated" and not isinstance(value, Secret):
            assert getattr(b, name) == value, name


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize("protocol", [0, pickle.HIGHEST_PROTOCOL])
def test_exception_round_trips_through_pickle(name: str, protocol: int) -> None:
    error = _samples()[name]
    error.__notes__ = ["a note survives too"]  # add_note() is Python 3.11+
    data = pickle.dumps(error, protocol=protocol)
    assert NEW_KEY.encode() not in data
    restored = pickle.loads(data)
    _same(error, restored)
    if type(error).__reduce__ is errors.AuthmatechError.__reduce__:
        assert restored.__notes__ == ["a note survives too"]
    assert copy.copy(error).args == error.args
    _same(error, copy.deepcopy(error))


def test_a_pickled_secret_travels_withheld() -> None:
    error = _samples()["RotationCallbackError"]
    assert isinstance(error, errors.RotationCallbackError)
    restored = pickle.loads(pickle.dumps(error))
    key = restored.rotated.api_key
    assert key.is_withheld
    assert key.fingerprint == Secret(NEW_KEY).fingerprint
    assert key == Secret(NEW_KEY)
    assert repr(key) == f"Secret.withheld('{key.fingerprint}')"
    with pytest.raises(authmatech.ConfigurationError, match="withheld"):
        key.reveal()
    assert pickle.loads(pickle.dumps(restored)).rotated.api_key == key
    generated = errors.RotationCallbackError(GeneratedApiKey(api_key=Secret(NEW_KEY)), OSError())
    assert NEW_KEY.encode() not in pickle.dumps(generated)


def test_a_raw_secret_still_refuses_to_be_pickled() -> None:
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(Secret(NEW_KEY))


def _failing_verify(kind: str) -> str:
    """In a worker process: a call that fails the way ``kind`` says, against a sandbox."""
    from authmatech.sandbox import Sandbox
    from authmatech.testing import sandbox_client

    sandbox = Sandbox()
    account = sandbox.create_account()
    with sandbox_client(sandbox, account) as client:
        if kind == "ok":
            proof = sandbox.device_proof("+962791234567").encrypted_mobile_number
            return str(client.verify("+962791234567", proof).valid_number)
        if kind == "bad number":
            client.verify("+962791234567", "not-a-proof-for-this-number", operator_id="ZAIN_JO")
            client.verify("0791234567", "x")
        if kind == "401":
            sandbox.inject_fault(status=401)
        elif kind == "429":
            sandbox.inject_fault(status=429, times=10, headers={"Retry-After": "0"})
        elif kind == "reset":
            sandbox.inject_fault(reset="before_response", times=10)
        client.account.products()
    raise AssertionError("the call should have failed")


def test_a_failure_in_a_process_pool_worker_does_not_break_the_pool() -> None:
    context = multiprocessing.get_context("spawn")
    kinds = ["bad number", "401", "429", "reset"]
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        futures = [pool.submit(_failing_verify, kind) for kind in kinds]
        healthy = pool.submit(_failing_verify, "ok")
        raised = [future.exception(timeout=60) for future in futures]
        assert healthy.result(timeout=60) == "True"
    assert [type(error) for error in raised] == [
        authmatech.RequestValidationError,
        authmatech.AuthenticationError,
        authmatech.RateLimitError,
        authmatech.APIConnectionError,
    ]
    for error in raised:
        assert isinstance(error, authmatech.AuthmatechError)
        assert str(error)
    rate_limited = raised[2]
    assert isinstance(rate_limited, authmatech.RateLimitError)
    assert rate_limited.status_code == 429
    assert rate_limited.retry_after == 0
    assert raised[3].maybe_processed is True  # the reset came after the request was sent
