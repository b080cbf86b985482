"""Rule 1: Secret and Credentials: fingerprints, hygiene, errors that name but never show."""

from __future__ import annotations

import copy
import hashlib
import pickle
import re

import attrs
import pytest

from authmatech.credentials import Credentials, Secret, clean_credential
from authmatech.errors import AuthmatechError, ConfigurationError

FINGERPRINT = re.compile(r"sha256:[0-9a-f]{12}")


def sha(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


# --- Secret ---------------------------------------------------------------------------------


def test_secret_repr_and_str_show_only_the_fingerprint() -> None:
    secret = Secret("sk_live_123")
    assert repr(secret) == f"Secret('{sha('sk_live_123')}')"
    assert str(secret) == sha("sk_live_123")
    assert FINGERPRINT.fullmatch(str(secret))
    assert "sk_live_123" not in repr(secret)
    assert "sk_live_123" not in f"{secret} {secret!r} {[secret]} { ({'k': secret}) }"


def test_secret_fingerprint_is_the_first_12_hex_digits_of_sha256() -> None:
    assert Secret("abc").fingerprint == "sha256:ba7816bf8f01"
    assert Secret("abc").fingerprint == sha("abc")


def test_secret_reveal_returns_the_raw_value() -> None:
    assert Secret("sk_live_123").reveal() == "sk_live_123"


def test_secret_equality_and_hash() -> None:
    assert Secret("a1") == Secret("a1")
    assert Secret("a1") != Secret("a2")
    assert Secret("a1") != "a1"
    assert Secret("a1") != "a1"
    assert hash(Secret("a1")) == hash(Secret("a1"))
    assert len({Secret("a1"), Secret("a1"), Secret("a2")}) == 2


@pytest.mark.parametrize(
    "clone",
    [
        pickle.dumps,
        lambda value: pickle.dumps(value, protocol=0),
        copy.copy,
        copy.deepcopy,
    ],
    ids=["pickle", "pickle-protocol-0", "copy", "deepcopy"],
)
def test_secret_is_not_picklable(clone: object) -> None:
    with pytest.raises(TypeError, match="pickled"):
        clone(Secret("sk_live_123"))  # type: ignore[operator]


def test_credentials_holding_a_secret_are_not_picklable() -> None:
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(Credentials("cid", api_key="sk_live_123"))


@pytest.mark.parametrize("value", [123, None, b"bytes", ["list"]])
def test_secret_wraps_only_str(value: object) -> None:
    with pytest.raises(ConfigurationError, match="wraps a str"):
        Secret(value)  # type: ignore[arg-type]


# --- Credentials: accepted values -----------------------------------------------------------


def test_credentials_accept_str_or_secret() -> None:
    key = Secret("sk_live_123")
    from_secret = Credentials("cid", api_key=key, sdk_token=Secret("tok"))
    from_str = Credentials("cid", api_key="sk_live_123", sdk_token="tok")
    assert from_secret.api_key is key  # a clean Secret is kept as it is
    assert from_secret == from_str
    assert isinstance(from_str.api_key, Secret)
    assert from_str.api_key.reveal() == "sk_live_123"
    assert from_str.sdk_token is not None
    assert from_str.sdk_token.reveal() == "tok"
    assert from_str.client_secret is None
    assert from_str.client_id == "cid"


def test_credentials_are_frozen_and_compare_by_value() -> None:
    creds = Credentials("cid", api_key="k1")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        creds.api_key = Secret("k2")  # type: ignore[misc]
    assert creds == Credentials("cid", api_key="k1")
    assert creds != Credentials("cid", api_key="k2")
    assert creds != Credentials("other", api_key="k1")
    assert attrs.evolve(creds, api_key="k2").api_key == Secret("k2")


def test_credentials_repr_shows_fingerprints_not_values() -> None:
    creds = Credentials("cid", api_key="ak_1", sdk_token="st_2", client_secret="cs_3")
    text = repr(creds) + str(creds)
    for raw in ("ak_1", "st_2", "cs_3"):
        assert raw not in text
        assert sha(raw) in text
    assert "cid" in text  # the client ID is not a secret


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("sk_live_123\n", "sk_live_123"),
        ("  sk_live_123  ", "sk_live_123"),
        ("\tsk_live_123\r\n", "sk_live_123"),
        ("\n\nsk_live_123", "sk_live_123"),
        ("sk_live_123\u00a0", "sk_live_123"),
    ],
    ids=["trailing-newline", "spaces", "tab-crlf", "leading-newlines", "nbsp"],
)
@pytest.mark.parametrize("field", ["api_key", "sdk_token", "client_secret"])
def test_surrounding_whitespace_is_stripped(field: str, raw: str, cleaned: str) -> None:
    creds = Credentials("cid", **{field: raw})
    secret = getattr(creds, field)
    assert secret.reveal() == cleaned
    assert secret.fingerprint == sha(cleaned)


def test_client_id_is_stripped_too() -> None:
    assert Credentials(" client-123\n").client_id == "client-123"


def test_a_secret_with_stray_whitespace_is_cleaned() -> None:
    creds = Credentials("cid", api_key=Secret("sk_live_123\n"))
    assert creds.api_key == Secret("sk_live_123")


# --- Credentials: refused values -------------------------------------------------------------

BAD_VALUES = [
    ('"sk_live_QUOTED1"', "quotes"),
    ("'sk_live_QUOTED2'", "quotes"),
    ("`sk_live_QUOTED3`", "quotes"),
    ("'sk_live_LEADING", "quote character"),
    ('sk_live_TRAILING"', "quote character"),
    ("sk_live_IN NER", "whitespace"),
    ("sk_live_LINE\nBREAK", "line break"),
    ("sk_live_TAB\tINSIDE", "whitespace"),
    ("sk_live_NUL\x00CHAR", "control"),
    ("sk_live_ESC\x1bCHAR", "control"),
    ("sk_live_ZW\u200bSPACE", "non-printable"),
    ("sk_live_" + "X" * 5000, "characters long"),
]


@pytest.mark.parametrize(("raw", "problem"), BAD_VALUES)
@pytest.mark.parametrize("field", ["api_key", "sdk_token", "client_secret"])
def test_bad_secret_values_raise_naming_the_argument_not_the_value(
    field: str, raw: str, problem: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        Credentials("cid", **{field: raw})
    message = str(info.value)
    assert message.startswith(field)
    assert problem in message
    assert raw.strip() not in message
    assert raw.strip().strip("'\"`")[:12] not in message
    assert isinstance(info.value, AuthmatechError)


@pytest.mark.parametrize(("raw", "problem"), BAD_VALUES)
def test_bad_client_id_raises_naming_client_id(raw: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Credentials(raw)
    assert str(info.value).startswith("client_id")
    assert problem in str(info.value)
    assert raw.strip() not in str(info.value)


@pytest.mark.parametrize("raw", ["", "   ", "\n", "\r\n\t "])
@pytest.mark.parametrize("field", ["api_key", "sdk_token", "client_secret"])
def test_empty_values_raise(field: str, raw: str) -> None:
    with pytest.raises(ConfigurationError, match=f"^{field} is empty"):
        Credentials("cid", **{field: raw})


@pytest.mark.parametrize("value", [123, 4.5, b"sk_live_bytes", ["sk"]])
def test_non_str_values_raise_naming_the_argument(value: object) -> None:
    with pytest.raises(ConfigurationError, match=r"^api_key must be a str or a Secret"):
        Credentials("cid", api_key=value)  # type: ignore[arg-type]


def test_clean_credential_returns_the_stripped_value() -> None:
    assert clean_credential(" abc\n", "api_key") == "abc"
    assert clean_credential(Secret(" abc\n"), "api_key") == "abc"


# --- from_env -------------------------------------------------------------------------------


def test_from_env_reads_every_variable_and_strips_them() -> None:
    creds = Credentials.from_env(
        environ={
            "AUTHMATECH_CLIENT_ID": "client-123\n",
            "AUTHMATECH_API_KEY": "sk_live_123\n",
            "AUTHMATECH_SDK_TOKEN": " tok ",
            "AUTHMATECH_CLIENT_SECRET": "sec\r\n",
        }
    )
    assert creds.client_id == "client-123"
    assert creds.api_key == Secret("sk_live_123")
    assert creds.sdk_token == Secret("tok")
    assert creds.client_secret == Secret("sec")


def test_from_env_treats_unset_and_blank_variables_as_missing() -> None:
    creds = Credentials.from_env(environ={"AUTHMATECH_API_KEY": "  ", "OTHER": "x"})
    assert creds == Credentials()
    assert creds.held() == ()


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHMATECH_CLIENT_ID", "from-os")
    monkeypatch.setenv("AUTHMATECH_API_KEY", "sk_os_key")
    monkeypatch.delenv("AUTHMATECH_SDK_TOKEN", raising=False)
    monkeypatch.delenv("AUTHMATECH_CLIENT_SECRET", raising=False)
    creds = Credentials.from_env()
    assert creds.client_id == "from-os"
    assert creds.api_key == Secret("sk_os_key")
    assert creds.held() == ("client ID", "API key")


@pytest.mark.parametrize(
    "variable",
    [
        "AUTHMATECH_CLIENT_ID",
        "AUTHMATECH_API_KEY",
        "AUTHMATECH_SDK_TOKEN",
        "AUTHMATECH_CLIENT_SECRET",
    ],
)
@pytest.mark.parametrize(("raw", "problem"), BAD_VALUES[:11])
def test_from_env_errors_name_the_variable_not_the_value(
    variable: str, raw: str, problem: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        Credentials.from_env(environ={variable: raw})
    message = str(info.value)
    assert message.startswith(variable)
    assert problem in message
    assert raw.strip() not in message
    assert raw.strip().strip("'\"`")[:12] not in message


# --- held() ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "held"),
    [
        ({}, ()),
        ({"client_id": "cid"}, ("client ID",)),
        ({"client_id": "cid", "api_key": "k"}, ("client ID", "API key")),
        ({"client_id": "cid", "sdk_token": "t"}, ("client ID", "SDK token")),
        ({"api_key": "k", "client_secret": "s"}, ("API key", "client secret")),
        (
            {"client_id": "cid", "api_key": "k", "sdk_token": "t", "client_secret": "s"},
            ("client ID", "API key", "SDK token", "client secret"),
        ),
    ],
)
def test_held_names_the_credentials_present(kwargs: dict[str, str], held: tuple[str, ...]) -> None:
    client_id = kwargs.pop("client_id", None)
    assert Credentials(client_id, **kwargs).held() == held
