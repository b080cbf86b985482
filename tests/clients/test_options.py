"""Client options meet the mistakes people really make with a message that names the right
thing: a base URL with the API path, a quoted value, a value from ``AUTHMATECH_BASE_URL``, a
``sleep`` that is not callable."""

from __future__ import annotations

from typing import Any

import pytest

import authmatech
from authmatech import ConfigurationError

from .conftest import API_KEY, CLIENT_ID

CLIENTS = [authmatech.Client, authmatech.AsyncClient]


def _make(cls: Any, **options: Any) -> Any:
    return cls(client_id=CLIENT_ID, api_key=API_KEY, **options)


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    "url",
    [
        "https://service.authmatech.com/v1/api",
        "https://service.authmatech.com/v1/api/",
        "https://service.authmatech.com/v1",
        "https://gateway.example.com/authmatech/v1/api",
    ],
)
def test_a_base_url_with_the_api_path_is_refused(cls: Any, url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"adds /v1/api/\.\.\. itself") as caught:
        _make(cls, base_url=url)
    assert str(caught.value).startswith("base_url ")


@pytest.mark.parametrize("cls", CLIENTS)
def test_a_gateway_path_prefix_is_kept(cls: Any) -> None:
    client = _make(cls, base_url="https://gateway.example.com/authmatech/")
    assert "base_url='https://gateway.example.com/authmatech'" in repr(client)


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize("quote", ['"', "'"])
def test_a_quoted_base_url_gets_the_quotes_hint(cls: Any, quote: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url is wrapped in quotes"):
        _make(cls, base_url=f"{quote}https://service.authmatech.com{quote}")


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('"https://service.authmatech.com"', "wrapped in quotes"),
        ("https://service.authmatech.com/v1/api", r"adds /v1/api/\.\.\. itself"),
        ("http://service.authmatech.com", "must use https://"),
        ("https://a..b", "invalid host name"),
    ],
)
def test_errors_in_the_environment_name_the_variable(
    cls: Any, value: str, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHMATECH_BASE_URL", value)
    with pytest.raises(ConfigurationError, match=words) as caught:
        _make(cls)
    assert str(caught.value).startswith("AUTHMATECH_BASE_URL ")


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize("sleep", ["", 0, "time.sleep"])
def test_a_sleep_that_is_not_callable_is_refused(cls: Any, sleep: Any) -> None:
    with pytest.raises(ConfigurationError, match="sleep must be a callable"):
        _make(cls, sleep=sleep)
