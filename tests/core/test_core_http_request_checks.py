"""``core.HttpRequest`` checks what it is given (method, URL, headers, body, and the parts of
``HttpRequest.sealed``), and the other edge values found while hunting for crashes across
``authmatech.core``: each gets a library error naming the argument and what is accepted."""

from __future__ import annotations

import logging
import pickle
import traceback
from typing import Any

import pytest
from core_helpers import API_KEY, CLIENT_ID, NUMBER

from authmatech import Credentials, Secret, core
from authmatech.errors import ConfigurationError, RequestValidationError

URL = "https://service.authmatech.com/v1/api/verify"


def test_a_valid_request_keeps_its_parts_and_seals_credentials() -> None:
    request = core.HttpRequest(
        "POST", URL, {"Accept": "application/json", "X-API-KEY": API_KEY}, bytearray(b"{}")
    )
    assert request.method == "POST"
    assert request.url == URL
    assert request.body == b"{}"
    assert type(request.reveal_body()) is bytes
    assert request.reveal_headers() == {"Accept": "application/json", "X-API-KEY": API_KEY}
    assert API_KEY not in repr(request)
    assert core.HttpRequest("GET", "http://127.0.0.1:8080/x", {}, memoryview(b"ab")).body == b"ab"


def test_a_str_body_is_refused_with_the_fix() -> None:
    with pytest.raises(RequestValidationError, match=r"body must be bytes.*encode it"):
        core.HttpRequest("POST", URL, {}, '{"a": 1}')  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError, match="not dict"):
        core.HttpRequest("POST", URL, {}, {"a": 1})  # type: ignore[arg-type]


@pytest.mark.parametrize("method", [None, b"GET", 1, "", "G T", "GET\r\n", "X" * 33])
def test_a_method_that_is_not_an_http_token_is_refused(method: Any) -> None:
    with pytest.raises(RequestValidationError, match="HttpRequest method must be"):
        core.HttpRequest(method, URL, {})


@pytest.mark.parametrize(
    "url",
    [
        None,
        b"https://a.example/",
        "/v1/api/verify",
        "service.authmatech.com/v1",
        "ftp://a.example/",
        "https://",
        "https://a..b/",
        "https://xn--.com/",
        "http://[::1/x",
        "https://a.example:99999/",
        "https://a.example/a b",
        "https://a.example/\r\nX-Injected: 1",
    ],
)
def test_a_url_that_cannot_be_sent_is_refused(url: Any) -> None:
    with pytest.raises(RequestValidationError, match="HttpRequest url"):
        core.HttpRequest("GET", url, {})


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (None, "headers must be a mapping"),
        ([("Accept", "a")], "headers must be a mapping"),
        ({b"Accept": "a"}, "header name must be a str"),
        ({"Bad Name": "a"}, "not an HTTP token"),
        ({"X-Thing:": "a"}, "not an HTTP token"),
        ({"Accept": 1}, "must have a str value, not int"),
        ({"Accept": b"a"}, "must have a str value, not bytes"),
        ({"Accept": "a\r\nX-Injected: 1"}, "printable ASCII"),
        ({"Accept": "caf\u00e9"}, "printable ASCII"),
        ({"Accept": "a", "accept": "b"}, "given twice"),
        ({"X-API-KEY": Secret("ak\nSECRET42")}, "the Secret given for header"),
        ({"X-API-KEY": Secret.withheld("sha256:0123456789ab")}, "the Secret given for header"),
    ],
)
def test_headers_of_the_wrong_shape_are_refused_at_construction(headers: Any, message: str) -> None:
    with pytest.raises(RequestValidationError, match=message) as info:
        core.HttpRequest("GET", URL, headers)
    assert "SECRET42" not in str(info.value)


def test_a_credential_with_a_line_break_is_never_echoed() -> None:
    with pytest.raises(RequestValidationError) as info:
        core.HttpRequest("GET", URL, {"X-SDK-TOKEN": "tok\r\nSECRET42"})
    assert "SECRET42" not in str(info.value)
    assert info.value.__context__ is None
    with pytest.raises(RequestValidationError) as info:
        core.HttpRequest("GET", URL, {"X-SDK-TOKEN": Secret("tok\r\nSECRET42")})
    frames = [frame for frame, _ in traceback.walk_tb(info.value.__traceback__)]
    shown = [value for frame in frames[1:] for value in frame.f_locals.values()]
    assert not any(isinstance(value, str) and "SECRET42" in value for value in shown)


def test_sealed_checks_its_parts_and_seals_a_credential_among_plain_headers() -> None:
    request = core.HttpRequest.sealed(
        "GET", URL, {"Accept": "a", "Authorization": "Bearer t0k"}, {"X-API-KEY": Secret(API_KEY)}
    )
    assert "t0k" not in repr(request.headers)
    assert request.reveal_headers()["Authorization"] == "Bearer t0k"
    assert len(request.secrets) == 2
    sealed = core.HttpRequest.sealed("POST", URL, {}, {}, None, (Secret('{"k":"s"}'), b"{}", ()))
    assert sealed.reveal_body() == b'{"k":"s"}'
    assert sealed.body == b"{}"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"secrets": {"X-API-KEY": API_KEY}}, "secrets must be a mapping of header names to"),
        ({"secrets": None}, "secrets must be a mapping"),
        ({"headers": {"X-API-KEY": Secret(API_KEY)}}, "must have a str value, not Secret"),
        ({"headers": {"x-api-key": "a"}, "secrets": {"X-API-KEY": Secret("b")}}, "both"),
        ({"body": "{}"}, "encode it"),
        ({"sealed_body": (b"{}", b"{}", ())}, "sealed_body must be None or a tuple"),
        ({"sealed_body": (Secret("{}"), "{}", ())}, "sealed_body must be None or a tuple"),
        ({"sealed_body": (Secret("{}"), b"{}", ["x"])}, "sealed_body must be None or a tuple"),
        ({"method": "get me"}, "method must be"),
        ({"url": "https://a..b/"}, "invalid host name"),
    ],
)
def test_sealed_refuses_wrong_parts(arguments: dict[str, Any], message: str) -> None:
    parts: dict[str, Any] = {"method": "GET", "url": URL, "headers": {}, "secrets": {}}
    with pytest.raises(RequestValidationError, match=message):
        core.HttpRequest.sealed(**{**parts, **arguments})


def test_the_request_the_core_builds_passes_its_own_checks() -> None:
    credentials = Credentials(CLIENT_ID, api_key=API_KEY, client_secret="cs_0123456789")
    for call in (core.verify(NUMBER, "proof"), core.rotate_api_key(), core.account_usage()):
        built = call.build(credentials)
        again = core.HttpRequest(
            built.method, built.url, built.reveal_headers(), built.reveal_body()
        )
        assert again.reveal_headers() == built.reveal_headers()


def test_redact_takes_only_text() -> None:
    request = core.verify(NUMBER, "proof").build(Credentials(CLIENT_ID, api_key=API_KEY))
    assert API_KEY not in request.redact(f"echo {API_KEY}")
    with pytest.raises(RequestValidationError, match="redact takes a str"):
        request.redact(None)  # type: ignore[arg-type]


# --- the other edge values found across the core -------------------------------------------


@pytest.mark.parametrize("remaining", ["5", None, float("nan"), True])
def test_timeout_until_and_capped_check_remaining(remaining: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"Timeout\.until's remaining"):
        core.Timeout().until(remaining)
    with pytest.raises(ConfigurationError, match=r"Timeout\.capped's remaining"):
        core.Timeout().capped(remaining)


def test_timeout_until_keeps_total_within_a_day() -> None:
    assert core.Timeout().until(1e300).total == 86_400
    assert core.Timeout().until(-5).total == 0.001


@pytest.mark.parametrize("fingerprint", [5, None, "", "sha256:xyz", "46e8faffd30e"])
def test_secret_withheld_takes_only_a_fingerprint(fingerprint: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"Secret\.withheld takes a fingerprint"):
        Secret.withheld(fingerprint)


def test_a_withheld_secret_still_round_trips_through_pickle() -> None:
    withheld = Secret.withheld(Secret(API_KEY).fingerprint)
    assert pickle.loads(pickle.dumps(withheld)) == withheld


@pytest.mark.parametrize("kind", [core.RedactionFilter, core.InFlightFilter])
def test_log_filters_take_only_a_log_record(kind: type[logging.Filter]) -> None:
    with pytest.raises(ConfigurationError, match=rf"{kind.__name__}\.filter takes a logging"):
        kind().filter("a message")  # type: ignore[arg-type]


def test_parse_retry_after_with_a_huge_int_or_a_non_finite_now() -> None:
    assert core.parse_retry_after(10**400) is None
    for now in (float("nan"), float("inf"), 10**400):
        with pytest.raises(RequestValidationError, match="now must be a Unix time"):
            core.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now)


def test_retry_policy_flag_and_retry_delay_remaining() -> None:
    with pytest.raises(ConfigurationError, match="retry_non_idempotent must be True or False"):
        core.RetryPolicy(retry_non_idempotent="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="retry_delay's remaining"):
        core.retry_delay(
            core.OPERATIONS["verify"],
            core.RetryPolicy(),
            RequestValidationError("x"),
            0,
            remaining=float("nan"),
            random=lambda: 0.5,
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [("method", "G T"), ("method", "get"), ("path", "v1/x"), ("path", "/a b"), ("path", "/a?b")],
)
def test_an_operation_that_would_build_an_unsendable_request_is_refused(
    field: str, value: str
) -> None:
    spec: dict[str, Any] = {"name": "x", "method": "GET", "path": "/x", "result": dict}
    with pytest.raises(ConfigurationError, match=f"Operation.{field} must be"):
        core.Operation(**{**spec, field: value})


def test_a_base_url_with_port_zero_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="port 0"):
        core.ClientConfig(base_url="https://a.example:0")


def test_call_parse_checks_the_response_when_given_a_request() -> None:
    call = core.verify(NUMBER, "proof")
    request = call.build(Credentials(CLIENT_ID, api_key=API_KEY))
    with pytest.raises(ConfigurationError, match=r"response must be a core\.HttpResponse"):
        call.parse((200, {}, b""), request=request)  # type: ignore[arg-type]


def test_account_params_too_long_together_are_refused() -> None:
    with pytest.raises(RequestValidationError, match=r"query string of .* the limit is 8192"):
        core.account_usage({f"k{i}": "x" * 2048 for i in range(5)})
    assert core.account_usage({f"k{i}": "x" * 1000 for i in range(5)})


def test_check_e164_names_a_wrong_name_argument() -> None:
    assert core.check_e164(NUMBER, 5) == NUMBER  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError, match="check_e164's name"):
        core.check_e164("bad", 5)  # type: ignore[arg-type]
