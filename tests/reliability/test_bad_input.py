"""Bad input at every public method of both clients (found by introspection, so a new method
cannot be forgotten) and at their constructors: wrong types, empty strings, non-E.164 numbers,
10 MB strings, lone surrogates, ``None`` where required. Each gives a library error whose
message names the argument, and nothing is sent."""

from __future__ import annotations

import math
from typing import Any

import anyio
import httpx
import pytest

import authmatech
from authmatech import ConfigurationError, RequestValidationError, RetryPolicy

from .inputs import (
    BAD,
    CREDENTIALS,
    HUGE,
    SURROGATE,
    VALID,
    Counter,
    async_client,
    call_args,
    parameters,
    public_calls,
    sync_client,
)

TALLY = {"cases": 0}


def _cases(client: Any) -> list[tuple[str, Any, str, Any]]:
    return [
        (name, method, parameter.name, bad)
        for name, method in public_calls(client)
        for parameter in parameters(method)
        for bad in BAD[parameter.name]
    ]


def _check(name: str, parameter: str, bad: Any, error: BaseException | None) -> str | None:
    """A description of what is wrong, or None."""
    shown = repr(bad)[:60]
    if error is None:
        return f"{name}({parameter}={shown}) raised nothing"
    if not isinstance(error, (RequestValidationError, ConfigurationError)):
        return f"{name}({parameter}={shown}) raised {type(error).__name__}: {error!s:.200}"
    if parameter not in str(error):
        return f"{name}({parameter}={shown}): the message does not name it: {error!s:.200}"
    if len(str(error)) > 1000:
        return f"{name}({parameter}={shown}): a {len(str(error))}-character message"
    return None


def test_every_parameter_has_valid_and_bad_values() -> None:
    """A new method or parameter must come with values here (tests/reliability/inputs.py)."""
    counter = Counter()
    for client in (sync_client(counter), async_client(counter)):
        calls = list(public_calls(client))
        assert len(calls) >= 23
        for name, method in calls:
            for parameter in parameters(method):
                assert parameter.name in VALID, f"{name}: no valid value for {parameter.name}"
                assert BAD.get(parameter.name), f"{name}: no bad values for {parameter.name}"
    sync_names = [name for name, _ in public_calls(sync_client(counter))]
    async_names = [name for name, _ in public_calls(async_client(counter))]
    assert sync_names == async_names


def test_valid_values_are_valid() -> None:
    """The baseline: with every argument valid, each call is sent once."""
    counter = Counter()
    with sync_client(counter) as client:
        calls = list(public_calls(client))
        for _, method in calls:
            args, kwargs = call_args(method)
            try:
                method(*args, **kwargs)
            except (RequestValidationError, ConfigurationError):
                raise
            except authmatech.AuthmatechError:
                pass  # the canned answer does not fit every result model: not the point here
    assert counter.count == len(calls)


def test_bad_input_sync() -> None:
    counter = Counter()
    failures = []
    with sync_client(counter) as client:
        cases = _cases(client)
        for name, method, parameter, bad in cases:
            args, kwargs = call_args(method, **{parameter: bad})
            error: BaseException | None = None
            try:
                method(*args, **kwargs)
            except Exception as raised:
                error = raised
            problem = _check(name, parameter, bad, error)
            if problem:
                failures.append(problem)
    assert not failures, "\n".join(failures)
    assert counter.count == 0, "a request with bad input was sent"
    TALLY["cases"] += len(cases)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_bad_input_async(backend: str) -> None:
    counter = Counter()
    failures: list[str] = []

    async def main() -> int:
        async with async_client(counter) as client:
            cases = _cases(client)
            for name, method, parameter, bad in cases:
                args, kwargs = call_args(method, **{parameter: bad})
                error: BaseException | None = None
                try:
                    await method(*args, **kwargs)
                except Exception as raised:
                    error = raised
                problem = _check(name, parameter, bad, error)
                if problem:
                    failures.append(problem)
        return len(cases)

    TALLY["cases"] += anyio.run(main, backend=backend)
    assert not failures, "\n".join(failures)
    assert counter.count == 0, "a request with bad input was sent"


def _transport() -> Any:
    return authmatech.transports.HttpxTransport()


CONSTRUCTOR_BAD: dict[str, list[Any]] = {
    "client_id": [None, "", "  ", '"cl_1"', "cl 1", "cl\x07", "clé", HUGE, SURROGATE, 12345],
    "api_key": ["", "  ", "'ak_1'", "ak 1", "ak\x00", "akö", HUGE, SURROGATE, 12345, b"ak"],
    "client_secret": ["", '"cs"', "cs 1", "cs\n1", "csé", HUGE, SURROGATE, 12345],
    "sdk_token": ["", "`tok`", "tok 1", "tok\r1", "toké", HUGE, SURROGATE, 12345],
    "base_url": [
        "",
        "service.authmatech.com",
        "ftp://service.authmatech.com",
        "http://service.authmatech.com",
        "https://user:pw@service.authmatech.com",
        "https://service.authmatech.com?x=1",
        "https://",
        HUGE,
        SURROGATE,
        12345,
    ],
    "timeout": [None, -1, 0, math.inf, math.nan, "5", True, [5]],
    "max_retries": [-1, 21, 2.5, "2", True, None],
    "retry_policy": ["fast", 3, {"max_retries": 2}],
    "http_client": ["client", 12345],
    "transport": ["transport", 12345, httpx.Client()],
    "http_family": ["httpx3", "", "HTTPX", 2, True, httpx],
    "on_api_key_rotated": ["callback", 12345],
    "app_info": ["", "  ", "my\napp", "appé/1.0", HUGE, SURROGATE, 12345],
    "clock": ["clock", 12345],
    "sleep": ["sleep", 12345],
    "rate_budget": ["budget", 12345, object()],
}


@pytest.mark.parametrize("cls", [authmatech.Client, authmatech.AsyncClient])
def test_bad_constructor_arguments(cls: type[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("CLIENT_ID", "API_KEY", "CLIENT_SECRET", "SDK_TOKEN", "BASE_URL"):
        monkeypatch.delenv(f"AUTHMATECH_{variable}", raising=False)
    names = [p.name for p in parameters(cls.__init__)[1:]]
    assert sorted(names) == sorted(CONSTRUCTOR_BAD), "new constructor argument: add bad values"
    failures: list[str] = []
    secrets = ("ak_1", "ak 1", "akö", "cs 1", "tok 1", "toké", "user:pw")
    for name, values in CONSTRUCTOR_BAD.items():
        for bad in values:
            options = {**CREDENTIALS, name: bad}
            if name == "http_client":
                options["http_client"] = bad
            error: BaseException | None = None
            try:
                cls(**options)
            except Exception as raised:
                error = raised
            problem = _check(cls.__name__, name, bad, error)
            if problem:
                failures.append(problem)
            elif any(secret in str(error) for secret in secrets):
                failures.append(f"{cls.__name__}({name}=...) echoes the value: {error}")
    both = {**CREDENTIALS, "http_client": None, "transport": _transport()}
    with pytest.raises(ConfigurationError, match="http_client"):
        cls(**{**both, "http_client": httpx.Client()})
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("cls", [authmatech.Client, authmatech.AsyncClient])
def test_bad_with_options(cls: type[Any]) -> None:
    client = cls(**CREDENTIALS)
    for name, bad in [
        ("timeout", -1),
        ("timeout", None),
        ("max_retries", -1),
        ("retry_policy", "fast"),
        ("app_info", "my\napp"),
    ]:
        with pytest.raises(ConfigurationError, match=name):
            client.with_options(**{name: bad})
    assert client.with_options(retry_policy=RetryPolicy(max_retries=0)) is not client
