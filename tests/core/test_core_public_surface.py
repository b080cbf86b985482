"""Every public function and constructor of ``authmatech.core`` (and ``Credentials``,
``Secret``, ``RetryPolicy``, ``Timeout``, ``Settings``, ``RedactionFilter``) meets wrong types
and edge values with a library error, never a crash deep inside.

The property drives each of them with arbitrary values (and a pool of valid library objects,
so that a call gets past its first argument); ``HYPOTHESIS_PROFILE=fuzz`` (``nox -s fuzz``)
runs many more examples.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from core_helpers import API_KEY, CLIENT_ID, NUMBER, envelope, heavy
from hypothesis import given
from hypothesis import strategies as st

from authmatech import Credentials, Secret, core, models
from authmatech.errors import (
    AuthmatechError,
    ConfigurationError,
    RequestValidationError,
)

CREDENTIALS = Credentials(CLIENT_ID, api_key=API_KEY)
REQUEST = core.verify(NUMBER, "proof").build(CREDENTIALS)
VALID: list[Any] = [
    CREDENTIALS,
    core.Timeout(),
    core.RetryPolicy(),
    core.ClientConfig(),
    core.Settings(),
    core.Clock(monotonic=time.monotonic, wall=time.time),
    core.verify(NUMBER, "proof"),
    core.OPERATIONS["verify"],
    core.HttpResponse(200, {}, envelope({"validNumber": True})),
    core.HttpResponse(429, {"Retry-After": "1"}, b""),
    core.Auth.API_KEY,
    core.Replay.SAFE,
    models.Signals(mobile_number=NUMBER),
    NUMBER,
    "https://service.authmatech.com",
    {"X-API-KEY": API_KEY},
    {"X-API-KEY": Secret(API_KEY)},
    Secret(API_KEY),
    REQUEST,
    "GET",
    "https://service.authmatech.com/v1/api/verify",
    (Secret("{}"), b"{}", ()),
    [(b"x-request-id", b"r")],
    RequestValidationError("x"),
    lambda: 1.0,
]
junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats()
    | st.text(st.characters(exclude_categories=()), max_size=20)
    | st.binary(max_size=20)
    | st.just(memoryview(b"ab"))
    | st.sampled_from(["", " ", "https://a..b", "https://xn--.com", "\ud800", "-1", "1e309"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5) | st.binary(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
values = st.sampled_from(VALID) | junk


def _public() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for name in core.__all__:
        value = getattr(core, name)
        if callable(value) and name not in ("Step", "Answer", "Auth", "Replay"):
            found[f"core.{name}"] = value
    found["Credentials"] = Credentials
    found["Credentials.from_env"] = Credentials.from_env
    found["Secret"] = Secret
    found["Secret.withheld"] = Secret.withheld
    found["HttpRequest.sealed"] = core.HttpRequest.sealed
    found["HttpRequest.redact"] = REQUEST.redact
    found["Timeout.until"] = core.Timeout().until
    found["InFlightFilter"] = core.InFlightFilter
    found["InFlightFilter.filter"] = core.InFlightFilter().filter
    found["RedactionFilter.filter(record)"] = core.RedactionFilter().filter
    found["Timeout.of"] = core.Timeout.of
    found["Timeout.capped"] = core.Timeout().capped
    found["Call.build"] = core.verify(NUMBER, "proof").build
    found["Call.parse"] = core.verify(NUMBER, "proof").parse
    found["RetryPolicy.backoff"] = core.RetryPolicy().backoff
    found["RedactionFilter.filter"] = _filter_with
    return found


def _filter_with(msg: Any, args: Any) -> bool:
    record = logging.LogRecord("authmatech", logging.INFO, __file__, 1, msg, None, None)
    record.args = args
    return core.RedactionFilter().filter(record)


PUBLIC = _public()


def _parameters(function: Callable[..., Any]) -> Iterator[inspect.Parameter]:
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            yield parameter


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, Callable[..., Any], dict[str, Any]]:
    name = draw(st.sampled_from(sorted(PUBLIC)))
    function = PUBLIC[name]
    arguments = {
        parameter.name: draw(values)
        for parameter in _parameters(function)
        if parameter.default is parameter.empty or draw(st.booleans())
    }
    return name, function, arguments


def _drive(flow: Any, outcomes: list[Any]) -> None:
    """Answer a call flow's steps with ``outcomes`` (arbitrary values too)."""
    step = next(flow)
    for outcome in outcomes:
        assert isinstance(step, (core.Authenticate, core.Send, core.Sleep))
        step = flow.send(outcome)


@heavy()
@given(call=calls(), outcomes=st.lists(values, max_size=4))
def test_property_every_public_core_entry_raises_only_library_errors(
    call: tuple[str, Callable[..., Any], dict[str, Any]], outcomes: list[Any]
) -> None:
    name, function, arguments = call
    try:
        result = function(**arguments)
        if inspect.isgenerator(result):
            _drive(result, outcomes)
        else:
            repr(result)
    except (AuthmatechError, StopIteration):
        pass
    except TypeError as error:
        # Python's own answer to a call flow sent something other than a step's outcome, as
        # the flow's docstring says; anything else must be a library error.
        _check_driver_error(name, list(arguments), error)


def _check_driver_error(name: str, arguments: list[str], error: TypeError) -> None:
    assert name == "core.call_flow", f"{name}({arguments}) raised {error!r}"
    assert "a driver must" in str(error)


# --- the cases found by hand -----------------------------------------------------------------


def test_settings_with_a_number_for_timeout_says_how_to_make_one() -> None:
    with pytest.raises(ConfigurationError, match=r"core\.Timeout\.of\(5\)"):
        core.Settings(timeout=5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"Settings\.retry"):
        core.Settings(retry=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"Settings\.config"):
        core.Settings(config="https://x")  # type: ignore[arg-type]


def test_call_flow_checks_its_arguments_before_it_starts() -> None:
    with pytest.raises(ConfigurationError, match="call_flow's settings"):
        core.call_flow(core.verify(NUMBER, "p"), None, None)  # type: ignore[arg-type]
    clock = core.Clock(monotonic=lambda: "soon", wall=time.time)  # type: ignore[arg-type,return-value]
    flow = core.call_flow(core.verify(NUMBER, "p"), core.Settings(), clock, CREDENTIALS)
    with pytest.raises(ConfigurationError, match=r"Clock\.monotonic must return a number"):
        next(flow)


def test_a_driver_answering_authenticate_with_junk_gets_a_clear_type_error() -> None:
    clock = core.Clock(monotonic=time.monotonic, wall=time.time)
    flow = core.call_flow(core.verify(NUMBER, "p"), core.Settings(), clock)
    assert isinstance(next(flow), core.Authenticate)
    with pytest.raises(TypeError, match=r"answer Authenticate with authmatech\.Credentials"):
        flow.send("my-api-key")


def test_mask_headers_with_a_list_or_none() -> None:
    assert core.mask_headers([("X-API-KEY", "k"), ("Accept", "a")]) == {
        "X-API-KEY": "<masked>",
        "Accept": "a",
    }
    assert core.mask_headers([(b"x-sdk-token", b"t")]) == {"x-sdk-token": "<masked>"}
    with pytest.raises(RequestValidationError, match="mask_headers must be a mapping"):
        core.mask_headers(None)  # type: ignore[arg-type]


def test_a_secret_with_a_lone_surrogate_has_a_fingerprint() -> None:
    secret = Secret("key\udc80")
    assert secret.fingerprint.startswith("sha256:")
    assert secret == Secret("key\udc80")
    with pytest.raises(ConfigurationError, match="api_key"):
        Credentials(CLIENT_ID, api_key="key\udc80")


def _deep(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


def _self_referencing() -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    mapping["self"] = mapping
    return mapping


@pytest.mark.parametrize("mappings", [_deep(5000), _self_referencing()], ids=["deep", "cycle"])
def test_deep_or_self_referencing_field_mappings(mappings: dict[str, Any]) -> None:
    with pytest.raises(RequestValidationError, match=r"field_mappings|integration"):
        core.connect_start_import("job-1", mappings)
    integration = models.ConnectIntegration(
        display_name="crm", integration_type="WEBHOOK", field_mappings=mappings
    )
    # field mappings are flat (str to str), so nesting is refused before any recursion
    with pytest.raises(RequestValidationError, match="str to str"):
        core.connect_create_integration(integration)


@pytest.mark.parametrize("field", ["multiplier", "initial_backoff", "max_backoff", "jitter"])
@pytest.mark.parametrize("value", [10**400, float("inf")])
def test_retry_policy_refuses_numbers_too_large_for_a_float(field: str, value: float) -> None:
    with pytest.raises(ConfigurationError, match=f"RetryPolicy.{field}.*finite"):
        core.RetryPolicy(**{field: value})


def test_retry_policy_with_a_huge_int_multiplier_still_backs_off() -> None:
    policy = core.RetryPolicy(multiplier=10**300, max_backoff=30, jitter=0)
    assert policy.backoff(20, lambda: 0.5) == 30


def test_redaction_filter_survives_an_argument_whose_str_raises() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    record = logging.LogRecord("a", logging.INFO, __file__, 1, "%s and %s", None, None)
    record.args = (Broken(), NUMBER)
    assert core.RedactionFilter().filter(record)
    assert record.getMessage() == "<unprintable Broken> and +9627*****67"


@pytest.mark.parametrize("url", ["https://a..b", "https://xn--.com", "https://-a.example"])
def test_malformed_hosts_fail_at_construction(url: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid host name"):
        core.ClientConfig(base_url=url)


def test_an_international_host_is_kept_in_its_ascii_form() -> None:
    config = core.ClientConfig(base_url="https://b\u00fccher.example:8443")
    assert config.base_url == "https://xn--bcher-kva.example:8443"


@pytest.mark.parametrize("seconds", [1e300, 86_401, float("inf")])
def test_timeout_of_a_huge_number_is_refused(seconds: float) -> None:
    with pytest.raises(ConfigurationError, match="at most 86,400"):
        core.Timeout.of(seconds)


def test_timeout_of_a_day_is_fine() -> None:
    assert core.Timeout.of(86_400).total == 86_400


def test_retry_delay_and_parse_check_their_arguments() -> None:
    with pytest.raises(ConfigurationError, match="retry_delay's policy"):
        core.retry_delay(
            core.OPERATIONS["verify"],
            None,  # type: ignore[arg-type]
            RequestValidationError("x"),
            0,
            remaining=1,
            random=lambda: 0.5,
        )
    with pytest.raises(ConfigurationError, match=r"response must be a core\.HttpResponse"):
        core.verify(NUMBER, "p").parse((200, {}, b""))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"request must be a core\.HttpRequest"):
        core.verify(NUMBER, "p").parse(
            core.HttpResponse(429, {}, b""),
            request=Credentials("cl_1", api_key="ak_0123456789"),  # type: ignore[arg-type]
        )
    with pytest.raises(ConfigurationError, match="Credentials"):
        core.verify(NUMBER, "p").build("key")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"Operation\.path"):
        core.Operation(name="x", method="GET", path=None, result=dict)  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError, match="mapping of str to str"):
        core.Call(operation=core.OPERATIONS["verify"], query={"a": 1})  # type: ignore[dict-item]


def test_mask_phone_and_redact_text_take_only_text() -> None:
    with pytest.raises(RequestValidationError, match="mask_phone takes a str"):
        core.mask_phone(962791234567)  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError, match="redact_text takes a str"):
        core.redact_text(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [core.RedactionFilter, core.InFlightFilter])
def test_log_filters_take_a_logger_name_prefix(kind: type[logging.Filter]) -> None:
    with pytest.raises(ConfigurationError, match=rf"{kind.__name__}'s name .* must be a str"):
        kind(5)  # type: ignore[arg-type]
    assert kind("httpx").name == "httpx"
