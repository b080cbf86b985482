"""Client-level Hypothesis properties (the core's parser and builders have their own in
tests/core):

* whatever a server answers (any status, headers and bytes, served by an
  ``httpx.MockTransport``), only :class:`AuthmatechError` subclasses escape ``verify`` and
  ``account.products``;
* arbitrary arguments (wrong types, huge, empty, ``None``, lone surrogates) to every public
  method of both clients raise ``RequestValidationError`` or ``ConfigurationError`` before
  anything is sent.

A few thousand examples by default; ``HYPOTHESIS_PROFILE=fuzz`` multiplies them by 50.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

import authmatech
from authmatech import AuthmatechError, ConfigurationError, RequestValidationError, Timeout

from .conftest import FUZZ_SCALE
from .inputs import BAD, HUGE, SURROGATE, VALID, Counter, parameters, public_calls
from .support import HAVE_HTTPX2, NUMBER, family_module

#: The httpx families a fuzzed answer is served through (one drawn per example).
_families = st.sampled_from(["sync", "sync-httpx2"] if HAVE_HTTPX2 else ["sync"]).map(family_module)

PROFILE = settings.get_profile("authmatech-reliability")
TALLY = {"examples": 0}

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
_envelope = st.fixed_dictionaries(
    {},
    optional={
        "success": st.booleans() | _json,
        "messages": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "type": st.sampled_from(["SUCCESS", "FAILURE", "INFO"]) | _json,
                    "code": st.sampled_from(["INVALID_MOBILE_NUMBER", None]) | _json,
                    "message": st.text(max_size=40) | _json,
                    "httpStatus": st.text(max_size=12) | _json,
                },
            ),
            max_size=3,
        )
        | _json,
        "data": st.fixed_dictionaries(
            {}, optional={"validNumber": _json, "maskedMobileNumber": _json}
        )
        | _json,
    },
)
_bodies = st.one_of(
    st.binary(max_size=300),
    _envelope.map(lambda document: json.dumps(document).encode()),
    _json.map(lambda document: json.dumps(document).encode()),
)
_header_names = st.sampled_from(
    [
        "content-type",
        "retry-after",
        "content-encoding",
        "location",
        "x-request-id",
        "transfer-encoding",
        "x-other",
    ]
)
_header_values = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    st.sampled_from(
        ["gzip", "br", "deflate", "1e400", "-1", "nan", "Wed, 21 Oct 2015 07:28:00 GMT"]
    ),
    st.integers(-(10**20), 10**20).map(str),
)
_responses = st.tuples(
    st.integers(100, 599),
    st.lists(st.tuples(_header_names, _header_values), max_size=4),
    _bodies,
)


def _handler(answer: tuple[int, list[tuple[str, str]], bytes], counter: list[int], x: Any) -> Any:
    """A mock server's handler in the family ``x`` (``httpx`` or ``httpx2``)."""
    status, headers, body = answer

    def handle(request: Any) -> Any:
        counter.append(1)
        return x.Response(status, headers=headers, content=body)

    return handle


OPTIONS: dict[str, Any] = {
    "client_id": "cl_fuzz",
    "api_key": "ak_fuzz_0123456789",
    "base_url": "https://service.authmatech.com",
    "timeout": Timeout.of(5),
}


def _no_sleep(seconds: float) -> None:
    pass


async def _no_async_sleep(seconds: float) -> None:
    pass


@settings(PROFILE, max_examples=1500 * FUZZ_SCALE)
@given(answer=_responses, billable=st.booleans(), x=_families)
def test_any_response_raises_only_library_errors_sync(
    answer: tuple[int, list[tuple[str, str]], bytes], billable: bool, x: Any
) -> None:
    sent: list[int] = []
    http = x.Client(transport=x.MockTransport(_handler(answer, sent, x)))
    with authmatech.Client(**OPTIONS, http_client=http, sleep=_no_sleep) as client:
        try:
            if billable:
                client.verify(NUMBER, "proof")
            else:
                client.account.products()
        except AuthmatechError:
            pass
    assert 1 <= len(sent) <= 3
    TALLY["examples"] += 1


@settings(PROFILE, max_examples=300 * FUZZ_SCALE)
@given(
    answer=_responses,
    billable=st.booleans(),
    backend=st.sampled_from(["asyncio", "trio"]),
    x=_families,
)
def test_any_response_raises_only_library_errors_async(
    answer: tuple[int, list[tuple[str, str]], bytes], billable: bool, backend: str, x: Any
) -> None:
    sent: list[int] = []

    async def main() -> None:
        http = x.AsyncClient(transport=x.MockTransport(_handler(answer, sent, x)))
        async with (
            http,
            authmatech.AsyncClient(**OPTIONS, http_client=http, sleep=_no_async_sleep) as client,
        ):
            try:
                if billable:
                    await client.verify(NUMBER, "proof")
                else:
                    await client.account.products()
            except AuthmatechError:
                pass

    anyio.run(main, backend=backend)
    assert 1 <= len(sent) <= 3
    TALLY["examples"] += 1


_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=20),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=30),
    st.sampled_from(["", "   ", HUGE, SURROGATE, "+962791234567", "\x00"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5) | st.integers(), max_size=3),
    st.builds(object),
)

with authmatech.Client(**OPTIONS) as _client:
    SYNC_CALLS = dict(public_calls(_client))
WITH_PARAMETERS = sorted(name for name, method in SYNC_CALLS.items() if parameters(method))


@st.composite
def _bad_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A method, one parameter drawn from its bad values and the others from anything."""
    name = draw(st.sampled_from(WITH_PARAMETERS))
    names = [p.name for p in parameters(SYNC_CALLS[name])]
    forced = draw(st.sampled_from(names))
    arguments = {
        parameter: draw(st.sampled_from(BAD[parameter]))
        if parameter == forced
        else draw(_junk | st.just(VALID[parameter]))
        for parameter in names
    }
    return name, arguments


def _method(client: Any, name: str) -> Any:
    target = client
    for part in name.split("."):
        target = getattr(target, part)
    return target


@settings(PROFILE, max_examples=1000 * FUZZ_SCALE)
@given(call=_bad_calls(), asynchronous=st.booleans())
def test_arbitrary_arguments_are_refused_before_sending(
    call: tuple[str, dict[str, Any]], asynchronous: bool
) -> None:
    name, arguments = call
    counter = Counter()
    error: BaseException | None = None
    if asynchronous:

        async def main() -> None:
            nonlocal error
            http = httpx.AsyncClient(transport=httpx.MockTransport(counter))
            async with http, authmatech.AsyncClient(**OPTIONS, http_client=http) as client:
                try:
                    await _method(client, name)(**arguments)
                except Exception as raised:
                    error = raised

        anyio.run(main)
    else:
        http = httpx.Client(transport=httpx.MockTransport(counter))
        with http, authmatech.Client(**OPTIONS, http_client=http) as client:
            try:
                _method(client, name)(**arguments)
            except Exception as raised:
                error = raised
    assert isinstance(error, (RequestValidationError, ConfigurationError)), repr(error)[:300]
    assert counter.count == 0
    TALLY["examples"] += 1
