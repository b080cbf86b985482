"""Rule 8: masking of phone numbers, secrets and secret headers."""

from __future__ import annotations

import decimal
import logging

import pytest
from core_helpers import API_KEY, NUMBER

from authmatech import core
from authmatech.core import RedactionFilter, mask_phone, redact_text
from authmatech.credentials import Credentials, Secret

FP = Secret(API_KEY).fingerprint


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+962791234567", "+9627*****67"),
        ("+971501234567", "+9715*****67"),
        ("+966512345678", "+9665*****78"),
        ("+12345678", "+1234*****78"),
        ("1234567", "*******"),
        ("+12", "***"),
        ("", ""),
    ],
)
def test_mask_phone(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("call +962791234567 now", "call +9627*****67 now"),
        ("+962791234567", "+9627*****67"),
        ("a:+962791234567,+971501234567.", "a:+9627*****67,+9715*****67."),
        ("(+966512345678)", "(+9665*****78)"),
        ("tel:+962791234567", "tel:+9627*****67"),
        ("?mobileNumber=%2B962791234567", "?mobileNumber=%2B9627*****67"),
        ("a=%2b971501234567&b=1", "a=%2b9715*****67&b=1"),
        ("+962791234567abc", "+9627*****67abc"),
        ("\u00e9+962791234567", "\u00e9+962791234567"),
        ("abc+962791234567", "abc+962791234567"),
        ("x_+962791234567", "x_+962791234567"),
        ("9+962791234567", "9+962791234567"),
        ("++962791234567", "++962791234567"),
        ("+0791234567", "+0791234567"),
        ("+123456", "+123456"),
        ("+1234567890123456", "+1234567890123456"),
        ("id 962791234567", "id 962791234567"),
        ("no numbers here", "no numbers here"),
        ("", ""),
    ],
)
def test_redact_text(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted


def record(msg: object, args: object) -> logging.LogRecord:
    return logging.LogRecord("authmatech", logging.DEBUG, __file__, 1, msg, args, None)  # type: ignore[arg-type]


def test_filter_masks_numbers_and_fingerprints_secrets_in_args() -> None:
    rec = record("verify %s with key %s", (NUMBER, Secret(API_KEY)))
    assert RedactionFilter().filter(rec) is True
    assert rec.getMessage() == f"verify +9627*****67 with key {FP}"


def test_filter_masks_numbers_in_the_message_itself() -> None:
    rec = record(f"number {NUMBER} failed", None)
    RedactionFilter().filter(rec)
    assert rec.getMessage() == "number +9627*****67 failed"


def test_filter_masks_mapping_args() -> None:
    rec = record(
        "%(number)s %(key)s %(count)d", ({"number": NUMBER, "key": Secret(API_KEY), "count": 2},)
    )
    assert isinstance(rec.args, dict)
    RedactionFilter().filter(rec)
    assert rec.getMessage() == f"+9627*****67 {FP} 2"


def test_filter_keeps_numbers_numeric_and_stringifies_other_objects() -> None:
    creds = Credentials("cid", api_key=API_KEY)
    rec = record("%d items in %.1f s: %s / %s", (3, 2.5, [NUMBER], creds))
    RedactionFilter().filter(rec)
    message = rec.getMessage()
    assert message.startswith("3 items in 2.5 s: ['+9627*****67'] / Credentials(")
    assert API_KEY not in message
    assert FP in message
    assert NUMBER not in message


def test_filter_leaves_records_without_args_alone() -> None:
    rec = record("plain message", ())
    RedactionFilter().filter(rec)
    assert rec.args == ()
    assert rec.getMessage() == "plain message"


def test_filter_keeps_other_numeric_types_formattable() -> None:
    # _redact_arg keeps only int and float: a Decimal (or Fraction, numpy int...) becomes a str,
    # so "%d" / "%.2f" formatting then fails with TypeError ("--- Logging error ---").
    rec = record("%d items cost %.2f", (decimal.Decimal(3), decimal.Decimal("2.5")))
    RedactionFilter().filter(rec)
    assert rec.getMessage() == "3 items cost 2.50"


def test_the_authmatech_logger_has_the_filter(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("authmatech")
    assert any(isinstance(f, RedactionFilter) for f in logger.filters)
    caplog.set_level(logging.DEBUG, logger="authmatech")
    logger.debug("number %s key %s", NUMBER, Secret(API_KEY))
    assert caplog.records[-1].getMessage() == f"number +9627*****67 key {FP}"
    assert NUMBER not in caplog.text
    assert API_KEY not in caplog.text


@pytest.mark.parametrize(
    ("headers", "masked"),
    [
        (
            {"X-API-KEY": API_KEY, "X-CLIENT-ID": "cid", "Accept": "*/*"},
            {"X-API-KEY": "<masked>", "X-CLIENT-ID": "cid", "Accept": "*/*"},
        ),
        ({"x-api-key": API_KEY}, {"x-api-key": "<masked>"}),
        ({"X-Sdk-Token": "t"}, {"X-Sdk-Token": "<masked>"}),
        (
            {"authorization": "Basic x", "cookie": "s=1"},
            {"authorization": "<masked>", "cookie": "<masked>"},
        ),
    ],
)
def test_mask_headers(headers: dict[str, str], masked: dict[str, str]) -> None:
    result = core.mask_headers(headers)
    assert result == masked
    assert result is not headers


def test_filter_leaves_a_non_str_message_object_alone() -> None:
    message = ValueError("boom")
    rec = record(message, (NUMBER,))
    RedactionFilter().filter(rec)
    assert rec.msg is message
    assert rec.args == ("+9627*****67",)
