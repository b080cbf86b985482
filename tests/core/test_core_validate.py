"""Rule 9: argument validation, before anything is built or sent."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from core_helpers import NUMBER

from authmatech import core, models
from authmatech.core._validate import check_service_type
from authmatech.credentials import Credentials
from authmatech.errors import RequestValidationError
from authmatech.models import ServiceType

CONTRACT_INVALID = ["0791234567", "+971 50 123 4567", "+966-51-2345678"]
CONTRACT_VALID = ["+962791234567", "+971501234567", "+966512345678"]

NUMBER_TAKERS: dict[str, Callable[[Any], Any]] = {
    "verify": lambda n: core.verify(n, "proof"),
    "verify_web": lambda n: core.verify_web("tx-1", n),
    "trust_score": lambda n: core.trust_score(models.Signals(mobile_number=n)),
    "shield_assess(dict)": lambda n: core.shield_assess({"mobileNumber": n}),
}


@pytest.mark.parametrize("taker", list(NUMBER_TAKERS))
@pytest.mark.parametrize("number", CONTRACT_VALID)
def test_contract_valid_numbers(number: str, taker: str, api_credentials: Credentials) -> None:
    request = NUMBER_TAKERS[taker](number).build(api_credentials)
    assert json.loads(request.body)["mobileNumber"] == number


@pytest.mark.parametrize("taker", list(NUMBER_TAKERS))
@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("0791234567", "'07912*****67'"),
        ("+971 50 123 4567", "'+971 *****67'"),
        ("+966-51-2345678", "'+966-*****78'"),
    ],
)
def test_contract_invalid_numbers(number: str, shown: str, taker: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        NUMBER_TAKERS[taker](number)
    error = info.value
    assert isinstance(error, ValueError)
    message = str(error)
    assert "E.164" in message
    assert "'+', the country code, then the subscriber number" in message
    assert "no spaces, dashes or parentheses" in message
    assert "e.g. '+962791234567'" in message
    assert message.endswith(f"got {shown}")
    assert number not in message
    assert number.replace(" ", "").replace("-", "") not in message


def test_full_e164_message() -> None:
    with pytest.raises(RequestValidationError) as info:
        core.verify("0791234567", "proof")
    assert str(info.value) == (
        "mobile_number must be in E.164 format: '+', the country code, then the subscriber "
        "number, digits only, 8 to 16 characters in all, no spaces, dashes or parentheses "
        "(e.g. '+962791234567'); got '07912*****67'"
    )


@pytest.mark.parametrize(
    "number",
    [
        "+0791234567",
        "962791234567",
        "+123456",
        "+1234567890123456",
        "+962791234567\n",
        " +962791234567",
        "+(962)791234567",
        "+\u0669\u0666\u0662\u0667\u0669\u0661\u0662\u0663\u0664\u0665\u0666\u0667",
        "+96279123456\uff17",
        "",
        "+",
    ],
)
def test_other_invalid_numbers(number: str) -> None:
    with pytest.raises(RequestValidationError, match=r"E\.164"):
        core.verify(number, "proof")


@pytest.mark.parametrize("number", ["+1234567", "+123456789012345", "+96279123"])
def test_e164_length_bounds(number: str) -> None:
    assert core.check_e164(number) == number


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(None, "NoneType"), (962791234567, "int"), (b"+962791234567", "bytes"), (["+9627"], "list")],
)
def test_number_of_the_wrong_type(value: object, type_name: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        core.verify(value, "proof")  # type: ignore[arg-type]
    assert str(info.value) == (
        f"mobile_number must be a str in E.164 format (e.g. '+962791234567'), not {type_name}"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"encrypted_mobile_number": None}, "encrypted_mobile_number must be a str, not NoneType"),
        ({"encrypted_mobile_number": 5}, "encrypted_mobile_number must be a str, not int"),
        ({"encrypted_mobile_number": ""}, "encrypted_mobile_number must not be empty"),
        ({"encrypted_mobile_number": " \n"}, "encrypted_mobile_number must not be empty"),
        ({"operator_id": ""}, "operator_id must not be empty"),
        ({"operator_id": 1}, "operator_id must be a str, not int"),
        ({"operator_id": "Z" * 129}, "operator_id is 129 characters long; the limit is 128"),
        ({"sdk_session_id": "s" * 129}, "sdk_session_id is 129 characters long; the limit is 128"),
        ({"sdk_session_id": ["s"]}, "sdk_session_id must be a str, not list"),
    ],
)
def test_verify_argument_checks(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"encrypted_mobile_number": "proof", **kwargs}
    with pytest.raises(RequestValidationError) as info:
        core.verify(NUMBER, **arguments)
    assert str(info.value) == message


TEN_MB = 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: core.verify("+" + "1" * TEN_MB, "proof"), f"a {TEN_MB + 1}-character string"),
        (lambda: core.verify("0" * TEN_MB, "proof"), f"a {TEN_MB}-character string"),
        (lambda: core.verify(NUMBER, "p" * TEN_MB), f"is {TEN_MB} characters long"),
        (lambda: core.verify(NUMBER, "p", operator_id="Z" * TEN_MB), "the limit is 128"),
        (lambda: core.verify_web("t" * TEN_MB, NUMBER), "the limit is 256"),
        (lambda: core.verify_web("tx", NUMBER, service_type="A" * TEN_MB), "service_type must"),
        (lambda: core.stuck_plus_reveal("s" * TEN_MB), "the limit is 256"),
        (lambda: core.connect_start_import("j" * TEN_MB, {}), "the limit is 128"),
        (lambda: core.trust_score({"mobileNumber": "+" * TEN_MB}), "signals['mobileNumber']"),
    ],
)
def test_huge_strings_are_rejected_quickly(build: Callable[[], Any], fragment: str) -> None:
    started = time.perf_counter()
    with pytest.raises(RequestValidationError) as info:
        build()
    assert time.perf_counter() - started < 1.0
    assert fragment in str(info.value)
    assert len(str(info.value)) < 400


# --- service_type ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        *[(member, member.value) for member in ServiceType],
        *[(member.value, member.value) for member in ServiceType],
        ("ACCOUNT_RECOVERY", "ACCOUNT_RECOVERY"),
        ("X", "X"),
        ("A1_B2", "A1_B2"),
        ("A" * 64, "A" * 64),
    ],
)
def test_service_type_accepted(given: Any, sent: str, api_credentials: Credentials) -> None:
    assert check_service_type(given) == sent
    body = json.loads(core.verify(NUMBER, "proof", service_type=given).build(api_credentials).body)
    assert body["serviceType"] == sent


def test_five_documented_service_types() -> None:
    assert [m.value for m in ServiceType] == [
        "REGISTRATION",
        "LOGIN",
        "RESET_PASS",
        "UPDATE_DETAILS",
        "TRANSACTION",
    ]


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("login", "; did you mean 'LOGIN'?"),
        ("Login", "; did you mean 'LOGIN'?"),
        ("reset_pass", "; did you mean 'RESET_PASS'?"),
        ("transaction", "; did you mean 'TRANSACTION'?"),
        ("unknown", ""),
        ("", ""),
        ("LOGIN ", ""),
        ("LOG-IN", ""),
        ("_LOGIN", ""),
        ("1LOGIN", ""),
        ("A" * 65, ""),
    ],
)
def test_service_type_rejected(given: str, hint: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        core.verify(NUMBER, "proof", service_type=given)
    assert str(info.value) == (
        "service_type must be one of REGISTRATION, LOGIN, RESET_PASS, UPDATE_DETAILS, "
        f"TRANSACTION (or ServiceType.<NAME>){hint}"
    )


@pytest.mark.parametrize("given", [5, b"LOGIN", ["LOGIN"], True])
def test_service_type_of_the_wrong_type(given: object) -> None:
    with pytest.raises(RequestValidationError, match="service_type must be a ServiceType or a str"):
        core.verify_web("tx", NUMBER, service_type=given)  # type: ignore[arg-type]


def test_service_type_none_is_omitted() -> None:
    assert check_service_type(None) is None


# --- identifiers ----------------------------------------------------------------------------

IDENTIFIER_TAKERS: dict[str, Callable[[Any], Any]] = {
    "transaction_id:verify_web": lambda v: core.verify_web(v, NUMBER),
    "session_id:journey": core.stuck_plus_journey,
    "session_id:reveal": core.stuck_plus_reveal,
    "session_id:reset": core.stuck_plus_reset,
    "client_id:rotate_client_key_by_id": core.rotate_client_key_by_id,
}


@pytest.mark.parametrize("taker", list(IDENTIFIER_TAKERS))
@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("a/b", "must not contain '/', whitespace or control characters"),
        ("/", "must not contain '/'"),
        ("../x", "must not contain '/'"),
        ("tx 1", "must not contain '/', whitespace"),
        ("tx\t1", "must not contain"),
        ("tx\n", "must not contain"),
        ("tx\x00", "must not contain"),
        ("tx\u200b", "must not contain"),
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("x" * 257, "is 257 characters long; the limit is 256"),
        (None, "must be a str, not NoneType"),
        (42, "must be a str, not int"),
    ],
)
def test_bad_identifiers(taker: str, value: Any, fragment: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        IDENTIFIER_TAKERS[taker](value)
    assert str(info.value).startswith(taker.split(":")[0])
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "taker", ["transaction_id:verify_web", "session_id:reset", "client_id:rotate_client_key_by_id"]
)
@pytest.mark.parametrize("value", [".", ".."])
def test_dot_segment_identifiers_are_rejected(taker: str, value: str) -> None:
    # "." and ".." pass check_identifier and quote() leaves them as they are, so the URL holds a
    # dot segment that HTTP clients normalise away: verify_web(".") is sent (by httpx) to
    # POST /v1/api/verify, and stuck_plus_reset("..") to POST /v1/api/me/stuck-plus/reset.
    with pytest.raises(RequestValidationError):
        IDENTIFIER_TAKERS[taker](value)


# --- inputs the builders cannot encode ------------------------------------------------------
# Every builder must raise RequestValidationError for input it cannot turn into a valid JSON body
# or URL; today _encode()/urlencode() errors escape as TypeError, ValueError or
# UnicodeEncodeError, and NaN/Infinity are written into the body as invalid JSON.

CANNOT_ENCODE: dict[str, Callable[[], Any]] = {
    "surrogate-in-proof": lambda: core.verify(NUMBER, "proof\ud800"),
    "surrogate-in-operator": lambda: core.verify(NUMBER, "proof", operator_id="\udcff"),
    "surrogate-in-job-id": lambda: core.connect_start_import("job\ud800", {}),
    "surrogate-in-mapping": lambda: core.connect_start_import("job", {"a": "\ud800"}),
    "surrogate-in-query": lambda: core.account_usage({"q": "\ud800"}),
    "surrogate-in-query-key": lambda: core.account_usage({"\ud800": "x"}),
    "surrogate-in-signals": lambda: core.trust_score(
        {"mobileNumber": NUMBER, "metadataId": "\ud800"}
    ),
    "object-in-mapping": lambda: core.connect_start_import("job", {"a": object()}),
    "bytes-in-backfill": lambda: core.stuck_plus_backfill({"from": b"2024"}),
    "tuple-key-in-mapping": lambda: core.connect_start_import("job", {"a": {(1, 2): "x"}}),
    "bytes-in-signals-model": lambda: core.trust_score(
        models.Signals(mobile_number=NUMBER, metadata_id=b"x")  # type: ignore[arg-type]
    ),
    "object-in-integration": lambda: core.connect_create_integration(
        models.ConnectIntegration(
            display_name="d", integration_type="W", field_mappings={"a": {1, 2}}
        )
    ),
    "huge-int-query": lambda: core.account_usage({"n": 10**5000}),
}


@pytest.mark.parametrize("case", list(CANNOT_ENCODE))
def test_unencodable_input_is_a_request_validation_error(
    case: str, full_credentials: Credentials
) -> None:
    with pytest.raises(RequestValidationError):
        CANNOT_ENCODE[case]().build(full_credentials)


@pytest.mark.parametrize(
    "build",
    [
        lambda: core.connect_start_import("job", {"a": float("nan")}),
        lambda: core.stuck_plus_backfill({"limit": float("inf")}),
        lambda: core.connect_create_integration(
            models.ConnectIntegration(
                display_name="d", integration_type="W", field_mappings={"x": float("-inf")}
            )
        ),
    ],
    ids=["nan", "inf", "-inf"],
)
def test_non_finite_numbers_never_reach_the_body(
    build: Callable[[], Any], full_credentials: Credentials
) -> None:
    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        request = build().build(full_credentials)
    except RequestValidationError:
        return
    json.loads(request.body, parse_constant=no_constants)  # the body must be valid JSON


# --- check_mapping / check_instance ---------------------------------------------------------


@pytest.mark.parametrize("value", [None, [], "a=b", {1: "x"}, {"a": 1, 2: "b"}])
def test_check_mapping(value: object) -> None:
    with pytest.raises(
        RequestValidationError, match=r"^field_mappings must be a mapping with str keys$"
    ):
        core.connect_start_import("job", value)  # type: ignore[arg-type]
