"""Rule 3: credential-scope rules, enforced by ``Call.build`` before anything is sent."""

from __future__ import annotations

import json

import pytest
from core_helpers import API_KEY, CALLS, CLIENT_ID, CLIENT_SECRET, SDK_TOKEN, SECRET_OPS

from authmatech import core
from authmatech.credentials import Credentials
from authmatech.errors import ConfigurationError, CredentialScopeError

ALL = list(CALLS)
SERVER_APIS = [name for name in ALL if name != "sdk.register_session"]
SECRETS = (API_KEY, SDK_TOKEN, CLIENT_SECRET)


def scope_error(name: str, credentials: Credentials) -> CredentialScopeError:
    with pytest.raises(CredentialScopeError) as info:
        CALLS[name]().build(credentials)
    return info.value


def assert_no_secret_in(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.mark.parametrize("name", ALL)
def test_every_operation_builds_with_every_credential(
    name: str, full_credentials: Credentials
) -> None:
    request = CALLS[name]().build(full_credentials)
    assert request.method == core.OPERATIONS[name].method
    assert request.reveal_headers()["X-CLIENT-ID"] == CLIENT_ID


def test_sdk_token_only_client_can_build_register_session() -> None:
    creds = Credentials(CLIENT_ID, sdk_token=SDK_TOKEN)
    request = core.register_sdk_session(sdk_session_id="s-1").build(creds)
    assert request.reveal_headers()["X-SDK-TOKEN"] == SDK_TOKEN
    assert request.reveal_headers()["X-CLIENT-ID"] == CLIENT_ID
    assert "X-API-KEY" not in request.reveal_headers()


@pytest.mark.parametrize("name", SERVER_APIS)
def test_sdk_token_only_client_can_build_nothing_else(name: str) -> None:
    error = scope_error(name, Credentials(CLIENT_ID, sdk_token=SDK_TOKEN))
    assert isinstance(error, ConfigurationError)
    assert error.operation == name
    assert error.required == ("client secret" if name in SECRET_OPS else "API key")
    assert error.held == ("client ID", "SDK token")
    message = str(error)
    assert message.startswith(f"{name} needs the {error.required}")
    assert "holds client ID, SDK token" in message
    assert_no_secret_in(message)


def test_scope_error_message_in_full() -> None:
    error = scope_error("verify", Credentials(CLIENT_ID, sdk_token=SDK_TOKEN))
    assert str(error) == (
        "verify needs the API key, but this client holds client ID, SDK token. "
        "Pass api_key=... (or set AUTHMATECH_API_KEY) when creating the client."
    )


def test_register_session_without_sdk_token_names_it() -> None:
    error = scope_error("sdk.register_session", Credentials(CLIENT_ID, api_key=API_KEY))
    assert (error.operation, error.required, error.held) == (
        "sdk.register_session",
        "SDK token",
        ("client ID", "API key"),
    )
    assert "sdk_token=... (or set AUTHMATECH_SDK_TOKEN)" in str(error)
    assert_no_secret_in(str(error))


@pytest.mark.parametrize("name", sorted(SECRET_OPS))
def test_rotation_without_client_secret_names_it(name: str) -> None:
    error = scope_error(name, Credentials(CLIENT_ID, api_key=API_KEY, sdk_token=SDK_TOKEN))
    assert error.required == "client secret"
    assert error.held == ("client ID", "API key", "SDK token")
    assert "client_secret=... (or set AUTHMATECH_CLIENT_SECRET)" in str(error)
    assert_no_secret_in(str(error))


@pytest.mark.parametrize("name", sorted(SECRET_OPS))
def test_rotation_with_secret_but_no_api_key_needs_the_api_key(name: str) -> None:
    error = scope_error(name, Credentials(CLIENT_ID, client_secret=CLIENT_SECRET))
    assert error.required == "API key"
    assert error.held == ("client ID", "client secret")
    assert_no_secret_in(str(error))


@pytest.mark.parametrize("name", ALL)
def test_missing_client_id_is_a_scope_error(name: str) -> None:
    creds = Credentials(api_key=API_KEY, sdk_token=SDK_TOKEN, client_secret=CLIENT_SECRET)
    error = scope_error(name, creds)
    assert error.required == "client ID"
    assert error.held == ("API key", "SDK token", "client secret")
    assert "client_id=... (or set AUTHMATECH_CLIENT_ID)" in str(error)
    assert_no_secret_in(str(error))


def test_no_credentials_at_all() -> None:
    error = scope_error("account.products", Credentials())
    assert error.held == ()
    assert "holds no credentials" in str(error)


def test_register_session_never_sends_the_api_key(full_credentials: Credentials) -> None:
    request = core.register_sdk_session(sdk_session_id="s-1").build(full_credentials)
    assert "X-API-KEY" not in request.reveal_headers()
    assert request.reveal_headers()["X-SDK-TOKEN"] == SDK_TOKEN
    assert API_KEY not in repr(request.reveal_headers().values())
    assert request.reveal_body() is not None
    assert API_KEY.encode() not in request.reveal_body()


@pytest.mark.parametrize("name", SERVER_APIS)
def test_server_apis_never_send_the_sdk_token(name: str, full_credentials: Credentials) -> None:
    request = CALLS[name]().build(full_credentials)
    assert request.reveal_headers()["X-API-KEY"] == API_KEY
    assert "X-SDK-TOKEN" not in request.reveal_headers()
    assert SDK_TOKEN not in " ".join(request.reveal_headers().values())
    assert SDK_TOKEN not in request.url
    assert request.reveal_body() is None or SDK_TOKEN.encode() not in request.reveal_body()


@pytest.mark.parametrize("name", ALL)
def test_client_secret_travels_only_as_secret_key_of_rotations(
    name: str, full_credentials: Credentials
) -> None:
    request = CALLS[name]().build(full_credentials)
    assert CLIENT_SECRET not in " ".join(request.reveal_headers().values())
    assert CLIENT_SECRET not in request.url
    assert all("secret" not in header.lower() for header in request.reveal_headers())
    if name in SECRET_OPS:
        assert request.reveal_body() is not None
        assert json.loads(request.reveal_body()) == {"secretKey": CLIENT_SECRET}
    else:
        assert request.reveal_body() is None or CLIENT_SECRET.encode() not in request.reveal_body()
        assert request.reveal_body() is None or b"secretKey" not in request.reveal_body()


@pytest.mark.parametrize("name", ALL)
def test_no_key_or_token_in_any_body(name: str, full_credentials: Credentials) -> None:
    body = CALLS[name]().build(full_credentials).body or b""
    assert API_KEY.encode() not in body
    assert SDK_TOKEN.encode() not in body


def test_secret_key_is_read_per_build() -> None:
    call = core.rotate_api_key()
    first = call.build(Credentials(CLIENT_ID, api_key=API_KEY, client_secret="secret-one"))
    second = call.build(Credentials(CLIENT_ID, api_key=API_KEY, client_secret="secret-two"))
    assert first.reveal_body() == b'{"secretKey":"secret-one"}'
    assert second.reveal_body() == b'{"secretKey":"secret-two"}'
