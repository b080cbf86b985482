"""examples/urllib_embedding.py: the sans-IO core over urllib.request and real loopback HTTP."""

from __future__ import annotations

import ast
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from examples_support import load_example

import authmatech
from authmatech import Credentials, core
from authmatech.sandbox import Sandbox, SandboxAccount, ServerThread

embedding = load_example("urllib_embedding")

NUMBER = "+962791234567"
VERIFY = "/v1/api/verify"


def credentials(account: SandboxAccount, api_key: str | None = None) -> Credentials:
    return Credentials(account.client_id, api_key=api_key or account.api_key)


class Sleeps(list[float]):
    """A ``sleep`` that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def sdk(server: ServerThread, account: SandboxAccount, sleeps: Sleeps, **overrides: Any) -> Any:
    return embedding.MiniSdk(credentials(account), base_url=server.url, sleep=sleeps, **overrides)


def test_the_example_uses_only_the_standard_library_and_the_core() -> None:
    tree = ast.parse(Path(embedding.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    third_party = imported - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party == {"authmatech"}


def test_verify_once_by_hand(
    sandbox: Sandbox, account: SandboxAccount, sandbox_server: ServerThread
) -> None:
    proof = sandbox.device_proof(NUMBER).encrypted_mobile_number
    result = embedding.verify_once(credentials(account), NUMBER, proof, base_url=sandbox_server.url)
    assert result.valid_number is True
    other = embedding.verify_once(
        credentials(account), "+962791234576", proof, base_url=sandbox_server.url
    )
    assert other.valid_number is False
    [first, second] = sandbox.requests
    assert (first.method, first.path, first.status) == ("POST", VERIFY, 200)
    assert first.api_key_fingerprint == account.api_key.fingerprint
    assert second.status == 200


def test_the_flow_absorbs_a_429(
    sandbox: Sandbox, account: SandboxAccount, sandbox_server: ServerThread
) -> None:
    sandbox.inject_fault(status=429, headers={"Retry-After": "2"}, path=VERIFY)
    sleeps = Sleeps()
    proof = sandbox.device_proof(NUMBER).encrypted_mobile_number
    result = sdk(sandbox_server, account, sleeps).verify(NUMBER, proof)
    assert result.valid_number is True
    assert sleeps == [2.0]  # Retry-After honoured, with time.sleep's signature
    assert [r.status for r in sandbox.requests] == [429, 200]


def test_backoff_without_retry_after_and_giving_up(
    sandbox: Sandbox, account: SandboxAccount, sandbox_server: ServerThread
) -> None:
    sandbox.inject_fault(status=429, times=3, path="/v1/api/me/products")
    sleeps = Sleeps()
    policy = core.RetryPolicy(max_retries=2, jitter=0)
    with pytest.raises(authmatech.RateLimitError) as caught:
        sdk(sandbox_server, account, sleeps, retry=policy).products()
    assert caught.value.status_code == 429
    assert sleeps == [1.0, 2.0]  # about 1 s, doubling
    assert [r.status for r in sandbox.requests] == [429, 429, 429]


def test_a_500_on_verify_is_not_resent_but_a_get_is(
    sandbox: Sandbox, account: SandboxAccount, sandbox_server: ServerThread
) -> None:
    sleeps = Sleeps()
    client = sdk(sandbox_server, account, sleeps, retry=core.RetryPolicy(jitter=0))
    sandbox.inject_fault(status=500, path=VERIFY)
    with pytest.raises(authmatech.ServerError) as caught:
        client.verify(NUMBER, sandbox.device_proof(NUMBER).encrypted_mobile_number)
    assert caught.value.maybe_processed is True
    sandbox.inject_fault(status=500, path="/v1/api/me/products")
    products = client.products()
    assert "VERIFY" in products.data["products"]
    assert [r.status for r in sandbox.requests] == [500, 500, 200]
    assert sleeps == [1.0]


def test_a_wrong_key_maps_to_authentication_error(
    sandbox: Sandbox, account: SandboxAccount, sandbox_server: ServerThread
) -> None:
    wrong = Credentials(account.client_id, api_key="ak_sbx_wrong_key_000000000000000")
    sleeps = Sleeps()
    client = embedding.MiniSdk(wrong, base_url=sandbox_server.url, sleep=sleeps)
    proof = sandbox.device_proof(NUMBER).encrypted_mobile_number
    with pytest.raises(authmatech.AuthenticationError) as caught:
        client.verify(NUMBER, proof)
    error = caught.value
    assert error.status_code == 401
    assert str(error.request_id).startswith("req_")
    assert "ak_sbx_wrong_key" not in str(error)
    assert sleeps == []
    assert [r.status for r in sandbox.requests] == [401]  # a 401 is never retried


def test_a_redirect_is_not_followed(
    sandbox: Sandbox, account: SandboxAccount, sandbox_server: ServerThread
) -> None:
    sandbox.inject_fault(status=307, headers={"Location": "https://elsewhere.example/"})
    with pytest.raises(authmatech.RedirectError):
        sdk(sandbox_server, account, Sleeps()).products()
    assert len(sandbox.requests) == 1


def test_connection_refused_is_retried_then_raised(account: SandboxAccount) -> None:
    with socket.socket() as refusing:  # bound, never listening
        refusing.bind(("127.0.0.1", 0))
        sleeps = Sleeps()
        client = embedding.MiniSdk(
            credentials(account),
            base_url=f"http://127.0.0.1:{refusing.getsockname()[1]}",
            sleep=sleeps,
            retry=core.RetryPolicy(max_retries=1, jitter=0),
        )
        with pytest.raises(authmatech.APIConnectionError) as caught:
            client.verify(NUMBER, "proof")
    # Nothing reached a server, so even a billable verify may be sent again.
    assert caught.value.maybe_processed is False
    assert sleeps == [1.0]


def test_a_read_timeout_may_have_been_processed(
    sandbox: Sandbox, account: SandboxAccount, sandbox_server: ServerThread
) -> None:
    sandbox.inject_fault(delay=1.0, path=VERIFY)
    client = sdk(sandbox_server, account, Sleeps(), timeout=core.Timeout.of(0.2))
    before = sandbox.balance(account.client_id)
    with pytest.raises(authmatech.APITimeoutError) as caught:
        client.verify(NUMBER, sandbox.device_proof(NUMBER).encrypted_mobile_number)
    assert caught.value.maybe_processed is True
    assert sandbox.balance(account.client_id) == before - 1  # processed, and billed once


def test_scope_is_enforced_before_any_io(
    sandbox: Sandbox, account: SandboxAccount, sandbox_server: ServerThread
) -> None:
    sdk_only = Credentials(account.client_id, sdk_token=account.sdk_token)
    with pytest.raises(authmatech.CredentialScopeError, match="needs the API key"):
        embedding.MiniSdk(sdk_only, base_url=sandbox_server.url).verify(NUMBER, "proof")
    assert sandbox.requests == ()


def test_main(
    sandbox: Sandbox,
    account: SandboxAccount,
    sandbox_server: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AUTHMATECH_BASE_URL", sandbox_server.url)
    monkeypatch.setenv("AUTHMATECH_CLIENT_ID", account.client_id)
    monkeypatch.setenv("AUTHMATECH_API_KEY", account.api_key.reveal())
    proof = sandbox.device_proof(NUMBER).encrypted_mobile_number
    assert embedding.main([NUMBER, proof]) == 0
    assert embedding.main(["+962791234576", proof]) == 1
    assert embedding.main(["0791234567", proof]) == 3
    assert embedding.main([]) == 2
    out = capsys.readouterr()
    assert out.out == "validNumber: true\nvalidNumber: false\n"
    assert "RequestValidationError" in out.err
    assert sys.modules[embedding.__name__] is embedding
