"""Rule 10: Hypothesis properties of the parsers, the builders and secret hygiene.

The heavy properties (parse_response, the builders) follow the profile chosen in conftest.py:
a few hundred derandomized examples by default, 100,000 with ``HYPOTHESIS_PROFILE=fuzz``.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Callable
from typing import Any

from core_helpers import CALLS, CLIENT_ID, SECRET_OPS, envelope, heavy, light
from hypothesis import assume, given
from hypothesis import strategies as st

from authmatech import core, models
from authmatech.credentials import Credentials, Secret
from authmatech.errors import (
    APIStatusError,
    AuthenticationError,
    AuthmatechError,
    BadRequestError,
    ConfigurationError,
    KeyResponseError,
    NotFoundError,
    RateLimitError,
    RedirectError,
    RequestValidationError,
    ResponseValidationError,
    ServerError,
)

OPS = list(core.OPERATIONS.values())
BASE = "https://service.authmatech.com/v1/api/"

# --- strategies -----------------------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=()), max_size=40)  # surrogates included
json_leaf = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)
KNOWN_KEYS = [
    "validNumber",
    "mobileNumber",
    "sdkSessionId",
    "transactionId",
    "trustScore",
    "confidence",
    "recommendation",
    "positiveFactors",
    "riskFactors",
    "breakdown",
    "metadataId",
    "decision",
    "riskScore",
    "riskLevel",
    "reasonCodes",
    "sdkVerified",
    "deviceConsistencyLevel",
    "operatorConsistencyLevel",
    "anomalies",
    "recommendedAction",
    "anomalyScore",
    "affectedCount",
    "windowStats",
    "newApiKey",
    "apiKey",
    "type",
    "description",
]
MESSAGE_KEYS = ["type", "code", "message", "httpStatus", "technical", "arguments"]
small_json = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=5,
)
data_value = st.dictionaries(
    st.sampled_from(KNOWN_KEYS) | st.text(max_size=6), small_json, max_size=8
)
message_value = st.dictionaries(st.sampled_from(MESSAGE_KEYS), json_value, max_size=6) | json_value
envelopes = st.fixed_dictionaries(
    {"success": st.booleans() | json_leaf},
    optional={
        "messages": st.lists(message_value, max_size=3) | json_value,
        "data": data_value | json_value,
    },
)
bodies = (
    st.binary(max_size=300)
    | envelopes.map(lambda doc: json.dumps(doc).encode())
    | json_value.map(lambda doc: json.dumps(doc).encode())
)
header_names = st.sampled_from(
    ["Retry-After", "X-Request-Id", "Content-Type", "x-correlation-id", "Location"]
) | st.text(max_size=10)
header_values = (
    st.text(max_size=40)
    | st.integers(-5, 10**6).map(str)
    | st.datetimes().map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT"))
)
headers = st.dictionaries(header_names, header_values, max_size=4)
nows = st.none() | st.floats(min_value=0, max_value=4e9)


def attempt(
    action: Callable[[], Any], catch: type[BaseException] = AuthmatechError
) -> tuple[Any, Any]:
    """``(result, None)`` or ``(None, error)``: assertions then run outside the ``except``."""
    try:
        return action(), None
    except catch as error:
        return None, error


def _is_false_envelope(body: bytes) -> bool:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(document, dict) and document.get("success") is False


# --- (a) parse_response raises nothing but AuthmatechError ----------------------------------


@heavy()
@given(
    op=st.sampled_from(OPS),
    status=st.integers(100, 599),
    headers=headers,
    body=bodies,
    now=nows,
)
def test_property_parse_response_raises_only_authmatech_errors(
    op: core.Operation[Any], status: int, headers: dict[str, str], body: bytes, now: float | None
) -> None:
    response = core.HttpResponse(status, headers, body)
    result, error = attempt(lambda: core.parse_response(op, response, now=now))
    if error is not None:
        assert str(error)
        assert repr(error)
        if 300 <= status < 400:
            assert type(error) is RedirectError
        elif isinstance(error, APIStatusError):
            assert error.status_code == status
            assert len(error.message) <= 1100
            if 200 <= status < 300:
                assert _is_false_envelope(body)
            if status == 429:
                assert type(error) is RateLimitError
                assert error.retry_after is None or (
                    error.retry_after >= 0 and math.isfinite(error.retry_after)
                )
            elif status == 401:
                assert type(error) is AuthenticationError
            elif status == 404:
                assert type(error) is NotFoundError
            elif status == 400:
                assert isinstance(error, BadRequestError)
            elif status >= 500:
                assert type(error) is ServerError
        else:
            expected = KeyResponseError if op.replaces_key else ResponseValidationError
            assert type(error) is expected
            assert 200 <= status < 300
            assert error.status_code == status
        return
    assert 200 <= status < 300
    assert not _is_false_envelope(body)
    assert repr(result)
    if op.name in ("verify", "verify_web"):
        assert type(result.valid_number) is bool


@heavy()
@given(
    op=st.sampled_from(OPS),
    status=st.sampled_from([200, 201, 204]),
    data=data_value,
    messages=st.lists(st.dictionaries(st.sampled_from(MESSAGE_KEYS), json_leaf), max_size=3),
)
def test_property_successful_envelopes_give_a_result_or_a_response_validation_error(
    op: core.Operation[Any], status: int, data: dict[str, Any], messages: list[Any]
) -> None:
    body = envelope(data, messages=messages)
    response = core.HttpResponse(status, {}, body)
    result, error = attempt(lambda: core.parse_response(op, response), ResponseValidationError)
    if error is not None:
        assert error.status_code == status
        if op.replaces_key:
            assert type(error) is KeyResponseError
            assert error.raw_body is not None
            assert error.raw_body.reveal() == body.decode()
        else:
            assert str(error).startswith(f"unexpected response to a {status}: data does not match")
        return

    def same(value: Any) -> bool:  # NaN-safe equality
        return json.dumps(value, sort_keys=True) == json.dumps(data, sort_keys=True)

    if isinstance(result, models.ApiResult):
        assert same(result.data)
    elif hasattr(result, "raw"):
        assert same(result.raw)
    else:
        assert isinstance(result, (models.RotatedApiKey, models.GeneratedApiKey))
        key = result.api_key.reveal()
        assert key
        assert key in _stripped_strings(data)


def _stripped_strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value.strip()}
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return set().union(*(_stripped_strings(item) for item in items))


@light(300)
@given(value=st.none() | st.text(max_size=40) | header_values, now=nows)
def test_property_retry_after_is_none_or_finite_and_non_negative(
    value: str | None, now: float | None
) -> None:
    seconds = core.parse_retry_after(value, now)
    assert seconds is None or (seconds >= 0 and math.isfinite(seconds))


# --- (b) builders raise only RequestValidationError / ConfigurationError --------------------

anything = st.deferred(
    lambda: (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | any_text
        | st.binary(max_size=10)
        | st.sampled_from(list(models.ServiceType))
        | st.just(object())
        | st.lists(anything, max_size=3)
        | st.dictionaries(any_text | st.integers(), anything, max_size=3)
    )
)
number_like = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True) | any_text | anything
text_like = any_text | anything
signals_like = (
    anything
    | st.dictionaries(
        st.sampled_from(
            [
                "mobileNumber",
                "metadataId",
                "sessionId",
                "sdkSessionId",
                "device",
                "network",
                "operator",
                "countryCode",
            ]
        )
        | any_text,
        anything | number_like,
        max_size=5,
    )
    | st.builds(
        models.Signals,
        mobile_number=number_like,
        metadata_id=text_like,
        device=st.none() | st.builds(models.DeviceSignal, platform=text_like, is_rooted=anything),
        network=st.none() | st.builds(models.NetworkSignal, ip_address=text_like),
    )
)
mapping_like = anything | st.dictionaries(any_text, anything, max_size=4)

BUILDERS: dict[str, st.SearchStrategy[Callable[[], core.Call[Any]]]] = {
    "verify": st.builds(
        lambda n, p, o, s, i, m: (
            lambda: core.verify(
                n, p, operator_id=o, service_type=s, sdk_session_id=i, mask_mobile=m
            )
        ),
        number_like,
        text_like,
        text_like,
        text_like,
        text_like,
        anything,
    ),
    "verify_web": st.builds(
        lambda t, n, s, m: lambda: core.verify_web(t, n, service_type=s, mask_mobile=m),
        text_like,
        number_like,
        text_like,
        anything,
    ),
    "register_sdk_session": st.builds(
        lambda a, b, c, d, e: (
            lambda: core.register_sdk_session(
                sdk_session_id=a,
                mno_id=b,
                authmatech_code_present=c,
                authmatech_code_hash=d,
                device_context=e,
            )
        ),
        text_like,
        text_like,
        anything,
        text_like,
        anything | st.builds(models.DeviceContext, platform=text_like, user_agent=text_like),
    ),
    "intelligence": st.builds(
        lambda f, s: lambda: f(s),
        st.sampled_from([core.trust_score, core.shield_assess, core.detect_analyze]),
        signals_like,
    ),
    "identifier": st.builds(
        lambda f, v: lambda: f(v),
        st.sampled_from(
            [
                core.rotate_client_key_by_id,
                core.stuck_plus_journey,
                core.stuck_plus_reveal,
                core.stuck_plus_reset,
            ]
        ),
        text_like,
    ),
    "reads": st.builds(
        lambda f, p: lambda: f(p),
        st.sampled_from(
            [
                core.account_products,
                core.account_usage,
                core.account_verifications,
                core.account_balance_history,
                core.stuck_plus_overview,
                core.stuck_plus_sessions,
                core.stuck_plus_reveals,
            ]
        ),
        mapping_like,
    ),
    "backfill": st.builds(lambda b: lambda: core.stuck_plus_backfill(b), mapping_like),
    "start_import": st.builds(
        lambda j, m: lambda: core.connect_start_import(j, m), text_like, mapping_like
    ),
    "create_integration": st.builds(
        lambda i: lambda: core.connect_create_integration(i),
        anything
        | st.builds(
            models.ConnectIntegration,
            display_name=text_like,
            integration_type=text_like,
            endpoint_url=text_like,
            field_mappings=mapping_like,
            batch_size=anything,
            api_key=st.none() | st.builds(Secret, st.text(max_size=10)),
        ),
    ),
}


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


@heavy()
@given(build=st.one_of(*BUILDERS.values()))
def test_property_builders_raise_only_validation_errors(
    build: Callable[[], core.Call[Any]],
) -> None:
    creds = Credentials(CLIENT_ID, api_key="k-1", sdk_token="t-1", client_secret="s-1")
    try:
        call = build()
        request = call.build(creds)
    except (RequestValidationError, ConfigurationError):
        return
    assert request.url.startswith(BASE)
    assert request.method == call.operation.method
    if request.body is not None:
        assert isinstance(json.loads(request.body, parse_constant=_no_constants), dict)


@light(100)
@given(
    number=st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True),
    proof=st.text(min_size=1, max_size=200).filter(str.strip),
    operator=st.none() | st.text(min_size=1, max_size=128).filter(str.strip),
)
def test_property_valid_verify_arguments_round_trip(
    number: str, proof: str, operator: str | None
) -> None:
    creds = Credentials(CLIENT_ID, api_key="k-1")
    request = core.verify(number, proof, operator_id=operator).build(creds)
    body = json.loads(request.body or b"")
    assert body["mobileNumber"] == number
    assert body["encryptedMobileNumber"] == proof
    assert body.get("operatorId") == operator


@light(300)
@given(
    value=json_value,
    before=st.sampled_from(["", " ", "\n", "\ufeff"]),
    after=st.sampled_from(["", " ", "\r\n", "x", " {}"]),
    encoding=st.sampled_from(["utf-8", "utf-16"]),
)
def test_property_bodies_decode_as_json_loads_would(
    value: Any, before: str, after: str, encoding: str
) -> None:
    """The fast path of response decoding agrees with ``json.loads``, or both refuse."""
    from authmatech.core._response import _from_json

    body = (before + json.dumps(value) + after).encode(encoding)
    try:
        expected = json.loads(body)
    except ValueError:
        try:
            _from_json(body)
        except ValueError:
            return
        raise AssertionError(f"{body!r} was accepted") from None
    decoded = _from_json(body)
    assert json.dumps(decoded, sort_keys=True) == json.dumps(expected, sort_keys=True)


@light(300)
@given(body=st.dictionaries(st.text(max_size=8), json_value, max_size=5))
def test_property_bodies_encode_as_json_dumps_would(body: dict[str, Any]) -> None:
    """The prebuilt encoder writes what ``json.dumps`` (compact, UTF-8, no NaN) writes, and
    refuses what it refuses."""
    from authmatech.core._request import _to_json

    try:
        expected = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        try:
            _to_json(body)
        except ValueError:
            return
        raise AssertionError("NaN or an infinite float was encoded") from None
    assert _to_json(body) == expected


@light(300)
@given(raw=st.text(alphabet="+0123456789 -()", min_size=8, max_size=30))
def test_property_invalid_numbers_are_never_echoed(raw: str) -> None:
    _, error = attempt(lambda: core.check_e164(raw), RequestValidationError)
    if error is not None:
        assert raw not in str(error)
        assert "E.164" in str(error)
    else:
        assert raw[0] == "+"
        assert raw[1:].isdigit()


@light(150)
@given(
    prefix=st.text(max_size=20),
    number=st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True),
    suffix=st.text(alphabet=string.ascii_letters + " .,;:)", max_size=20),
)
def test_property_redact_text_hides_numbers_not_glued_to_words(
    prefix: str, number: str, suffix: str
) -> None:
    assume(not prefix or not (prefix[-1].isalnum() or prefix[-1] in "_+"))
    text = redacted = core.redact_text(prefix + number + suffix)
    assert number not in redacted
    assert core.mask_phone(number) in text
    assert redacted.endswith(suffix)


# --- retry decisions ------------------------------------------------------------------------

errors = st.sampled_from(
    [
        RateLimitError("x", status_code=429),
        ServerError("x", status_code=500),
        BadRequestError("x", status_code=400),
        ResponseValidationError("x"),
    ]
) | st.builds(
    lambda seconds: RateLimitError("x", status_code=429, retry_after=seconds),
    st.floats(0, 1e6),
)


@light(300)
@given(
    op=st.sampled_from(OPS),
    error=errors,
    done=st.integers(0, 25),
    remaining=st.floats(-10, 1e6),
    random_value=st.floats(0, 1),
    policy=st.builds(
        core.RetryPolicy,
        max_retries=st.integers(0, 20),
        initial_backoff=st.floats(0, 100),
        max_backoff=st.floats(0, 100),
        multiplier=st.floats(0, 10),
        jitter=st.floats(0, 5),
        max_retry_after=st.floats(0, 1000),
        retry_non_idempotent=st.booleans(),
    ),
)
def test_property_retry_delay_is_bounded(
    op: core.Operation[Any],
    error: AuthmatechError,
    done: int,
    remaining: float,
    random_value: float,
    policy: core.RetryPolicy,
) -> None:
    delay = core.retry_delay(
        op, policy, error, done, remaining=remaining, random=lambda: random_value
    )
    if delay is None:
        return
    assert done < policy.max_retries
    assert 0 <= delay < remaining
    assert isinstance(error, (RateLimitError, ServerError))
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        assert delay == error.retry_after <= policy.max_retry_after
    else:
        assert delay <= policy.max_backoff + policy.jitter


# --- (c) secrets never shown ----------------------------------------------------------------

# "zQ" never occurs in a message, a fingerprint (lower-case hex) or a masked number, so a hit is
# a real leak and not a coincidence of a short random string.
secret_text = st.text(
    alphabet=string.ascii_letters + string.digits + "-_.~+/=", min_size=8, max_size=60
).map(lambda tail: f"zQ{tail}")


@light(100)
@given(
    api_key=secret_text,
    sdk_token=secret_text,
    client_secret=secret_text,
    new_key=secret_text,
    name=st.sampled_from(list(CALLS)),
)
def test_property_no_secret_in_any_repr_or_error(
    api_key: str, sdk_token: str, client_secret: str, new_key: str, name: str
) -> None:
    secrets = (api_key, sdk_token, client_secret, new_key)
    assume(len(set(secrets)) == 4)
    shown: list[str] = []

    creds = Credentials(
        CLIENT_ID, api_key=api_key, sdk_token=sdk_token, client_secret=client_secret
    )
    shown += [repr(creds), str(creds), repr(creds.held())]
    for secret in (creds.api_key, creds.sdk_token, creds.client_secret):
        shown += [repr(secret), str(secret), f"{secret}", secret.fingerprint]  # type: ignore[union-attr]

    call = CALLS[name]()
    request = call.build(creds)
    step = core.Send(request, core.Timeout(), 1, 60.0)
    shown += [repr(call), str(call), repr(request), str(request), repr(step)]

    for partial in (
        Credentials(CLIENT_ID, sdk_token=sdk_token),
        Credentials(CLIENT_ID, api_key=api_key),
        Credentials(api_key=api_key, sdk_token=sdk_token, client_secret=client_secret),
    ):
        try:
            call.build(partial)
        except ConfigurationError as error:
            shown += [str(error), repr(error)]

    for dirty in (f'"{api_key}"', f"'{api_key}", f"{api_key[:6]} {api_key[6:]}", f"{api_key}\x00"):
        try:
            Credentials(CLIENT_ID, api_key=dirty)
        except ConfigurationError as error:
            shown += [str(error), repr(error)]
        else:  # pragma: no cover - each of these is refused
            raise AssertionError(f"{dirty!r} was accepted")

    for builder in (
        lambda: core.verify(api_key, "proof"),
        lambda: core.verify("+962791234567", "proof", service_type=api_key),
        lambda: core.verify_web(api_key + "/x", "+962791234567"),
        lambda: core.stuck_plus_reveal(api_key + " x"),
        lambda: core.account_usage({api_key: 1.5}),
    ):
        try:
            builder()
        except RequestValidationError as error:
            message = str(error)
            if "params[" not in message:  # a param *name* is echoed on purpose
                shown += [message, repr(error)]

    for op_name in sorted(SECRET_OPS):
        for data in ({"newApiKey": new_key}, {"apiKey": new_key}):
            result = core.parse_response(
                core.OPERATIONS[op_name], core.HttpResponse(200, {}, envelope(data))
            )
            assert result.api_key.reveal() == new_key
            shown += [repr(result), str(result)]
        for data in ({"newApiKey": [new_key]}, {"newApiKey": {"v": new_key}}):
            try:
                core.parse_response(
                    core.OPERATIONS[op_name], core.HttpResponse(200, {}, envelope(data))
                )
            except ResponseValidationError as error:
                shown += [str(error), repr(error)]

    for op_name in ("verify", "intelligence.shield_assess", "sdk.register_session"):
        for data in (
            {"validNumber": new_key},
            {"decision": [new_key]},
            {"sdkSessionId": {"k": new_key}},
        ):
            try:
                result = core.parse_response(
                    core.OPERATIONS[op_name], core.HttpResponse(200, {}, envelope(data))
                )
            except ResponseValidationError as error:
                shown += [str(error), repr(error)]
            else:
                shown.append(repr(result))

    text = "\n".join(shown)
    for secret in secrets:
        assert secret not in text
