"""No secret leaks: every flow (successes, each error, retries, timeouts, rotation, the CLI and
``python -m authmatech demo``) runs with DEBUG logging on for ``authmatech``, ``httpx``,
``httpcore`` and ``aiohttp``; no API key, SDK token, client secret or rotated key may appear in
any log record (message and args), ``repr``, ``str`` of an exception, formatted traceback
(chained causes included) or CLI output (but ``rotate-key``, which prints the new key once by
design); phone numbers appear only masked in the library's own log records."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
import traceback
from collections.abc import Callable
from typing import Any

import pytest

import authmatech
from authmatech import RetryPolicy, Secret, Timeout
from authmatech.cli import main as cli_main
from authmatech.sandbox import Sandbox, SandboxAccount, ServerThread

from .support import (
    DRIVERS,
    HAVE_HTTPX2,
    NUMBER,
    RawRequest,
    RawServer,
    Sleeps,
    backend_of,
    closed_port,
    make_client,
    owned_transport,
)

RAW_NUMBER = re.compile(r"\+[1-9][0-9]{6,14}")
SANDBOX_SECRET = re.compile(r"\b(?:ak|cs|sdk)_sbx_[A-Za-z0-9_-]{16,}")
QUICK = Timeout(connect=1, read=0.1, write=1, pool=1, total=3)
LOGGERS = ("authmatech", "httpx", "httpcore", "httpx2", "httpcore2", "aiohttp", "asyncio")


class Evidence:
    """Everything a secret could leak into, gathered while the flows run."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []  # (where, text)
        self.secrets: set[str] = set()

    def add(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def secret(self, value: Secret | str) -> None:
        self.secrets.add(value.reveal() if isinstance(value, Secret) else value)

    def outcome(self, where: str, value: Any) -> None:
        self.add(f"{where}: repr", repr(value))
        self.add(f"{where}: str", str(value))
        if isinstance(value, BaseException):
            self.add(f"{where}: traceback", "".join(traceback.format_exception(value)))
            for name, attribute in vars(value).items():
                self.add(f"{where}: .{name}", repr(attribute))
            rotated = getattr(value, "rotated", None)
            if rotated is not None:
                self.secret(rotated.api_key)
        for name in ("api_key", "new_api_key"):
            key = getattr(value, name, None)
            if isinstance(key, Secret):
                self.secret(key)


def _run(driver: str, evidence: Evidence, label: str, options: dict[str, Any], call: Any) -> Any:
    """One call through ``driver``; records the client's repr and the outcome."""
    sleeps = Sleeps()

    def record(client: Any, outcome: Any) -> Any:
        evidence.add(f"{label}: client repr", repr(client))
        evidence.outcome(f"{driver} {label}", outcome)
        return outcome

    if driver.startswith("sync"):
        try:
            client = make_client(driver, sleeps, **options)
        except authmatech.AuthmatechError as error:
            return record(None, error)
        with client:
            try:
                outcome = call(client)
            except authmatech.AuthmatechError as error:
                outcome = error
            return record(client, outcome)

    async def main() -> Any:
        try:
            client = make_client(driver, sleeps, **options)
        except authmatech.AuthmatechError as error:
            return record(None, error)
        async with client, owned_transport(client):
            try:
                outcome = await call(client)
            except authmatech.AuthmatechError as error:
                outcome = error
            return record(client, outcome)

    import anyio

    return anyio.run(main, backend=backend_of(driver))


def _flows(
    driver: str, sandbox: Sandbox, account: SandboxAccount, url: str, evidence: Evidence
) -> None:
    proof = sandbox.device_proof(NUMBER).encrypted_mobile_number
    web = sandbox.web_transaction(NUMBER)
    base: dict[str, Any] = {
        "client_id": account.client_id,
        "api_key": account.api_key.reveal(),
        "client_secret": account.client_secret.reveal(),
        "sdk_token": account.sdk_token.reveal(),
        "base_url": url,
        "timeout": QUICK,
    }

    def run(label: str, call: Callable[[Any], Any], **options: Any) -> Any:
        return _run(driver, evidence, label, {**base, **options}, call)

    def verify(client: Any) -> Any:
        return client.verify(NUMBER, proof, operator_id="ZAIN_JO", mask_mobile=True)

    run("verify", verify)
    run("verify_web", lambda c: c.verify_web(web, NUMBER, service_type="LOGIN"))
    run("products", lambda c: c.account.products())
    run("trust", lambda c: c.intelligence.trust_score({"mobileNumber": NUMBER}))
    run(
        "sdk session",
        lambda c: c.sdk.register_session(sdk_session_id="s-1", mno_id="ZAIN_JO"),
        api_key=None,
    )
    run("sdk token only", verify, api_key=None)  # CredentialScopeError
    run("bad number", lambda c: c.verify("0791234567", proof))
    run("number with spaces", lambda c: c.verify("+962 79 123 4567", proof))
    run("wrong key", verify, api_key="ak_sbx_this_key_is_wrong_0123456789")
    run("quoted key", verify, api_key=f'"{account.api_key.reveal()}"')
    run("key with a space", verify, api_key=account.api_key.reveal()[:12] + " x")
    run("key with a control char", verify, api_key=account.api_key.reveal() + "\x07")
    run("refused", verify, base_url=f"http://127.0.0.1:{closed_port()}")
    opt_in = {"retry_policy": RetryPolicy(retry_non_idempotent=True)}
    for name, fault in [
        ("500", {"status": 500}),
        ("429", {"status": 429, "headers": {"Retry-After": "0"}}),
        ("503 html", {"status": 503, "body": b"<html>down</html>"}),
        ("reset", {"reset": "before_response"}),
        ("mid body", {"reset": "mid_body"}),
        ("timeout", {"delay": 2.0}),
        ("malformed", {"malformed_body": True}),
        ("redirect", {"status": 302, "headers": {"Location": "http://127.0.0.2:9/x"}}),
        (
            "400",
            {
                "status": 400,
                "body": b'{"success":false,"messages":[{"type":"FAILURE",'
                b'"message":"Invalid number +962791234567","code":"INVALID_MOBILE_NUMBER"}],'
                b'"data":null}',
            },
        ),
    ]:
        for label, options in [("", {}), (" opt-in", opt_in)]:
            sandbox.inject_fault(times=3, **fault)
            run(f"{name}{label} verify", verify, **options)
            sandbox.clear_faults()
        sandbox.inject_fault(times=3, **fault)
        run(f"{name} products", lambda c: c.account.products())
        sandbox.clear_faults()

    # rotation: the client switches to the new key; the callback sees it (and fails once)
    seen: list[Secret] = []

    def on_rotated(key: Secret) -> None:
        seen.append(key)

    rotated = run("rotate", lambda c: c.account.rotate_api_key(), on_api_key_rotated=on_rotated)
    evidence.secret(rotated.api_key)
    base["api_key"] = rotated.api_key.reveal()
    run("verify after rotation", verify)

    def failing(key: Secret) -> None:
        raise RuntimeError("the secret store is down")

    failed = run(
        "rotate, callback fails",
        lambda c: c.account.rotate_client_key(),
        on_api_key_rotated=failing,
    )
    assert isinstance(failed, authmatech.RotationCallbackError)
    base["api_key"] = failed.rotated.api_key.reveal()
    generated = run("generate", lambda c: c.account.generate_api_key())
    evidence.secret(generated.api_key)
    base["api_key"] = generated.api_key.reveal()
    run("verify with the generated key", verify)
    sandbox.inject_fault(reset="before_response", path="/v1/api/me/api-key/rotate")
    run("rotate, reset", lambda c: c.account.rotate_api_key())
    evidence.secrets.update(s.reveal() for s in seen)


def _provider_flow(account: SandboxAccount, url: str, evidence: Evidence) -> None:
    """A key provider returning a bad value, and an env-var key with quotes."""
    key = account.api_key.reveal()
    for driver in ("sync", "asyncio"):
        _run(
            driver,
            evidence,
            "provider",
            {"client_id": account.client_id, "api_key": lambda: f" {key}\n", "base_url": url},
            lambda c: c.account.products(),
        )
    env = {"AUTHMATECH_CLIENT_ID": account.client_id, "AUTHMATECH_API_KEY": f"'{key}'"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        try:
            authmatech.Client()
        except authmatech.ConfigurationError as error:
            evidence.outcome("env", error)
        else:
            raise AssertionError("a quoted AUTHMATECH_API_KEY must be refused")


def _cli(evidence: Evidence, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["verify", NUMBER, "--sandbox", "--mask-mobile"],
        ["verify", "0791234567", "--sandbox"],
        ["demo"],
        ["rotate-key", "--sandbox"],
        ["rotate-key", "--sandbox", "--by-client"],
    ):
        out = io.StringIO()
        cli_main(argv, out=out)
        captured = capsys.readouterr()
        text = out.getvalue() + captured.out + captured.err
        found = SANDBOX_SECRET.findall(text)
        if argv[0] == "rotate-key":
            assert len(found) == 1, f"rotate-key must print the new key exactly once: {found}"
            assert found[0].startswith("ak_sbx_")
            assert text.count(found[0]) == 1
            text = text.replace(found[0], "<the new key, printed once by design>")
        evidence.add(f"cli {' '.join(argv)}", text)
    demo = subprocess.run(
        [sys.executable, "-m", "authmatech", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    evidence.add("python -m authmatech demo", demo.stdout + demo.stderr)
    assert "Done in" in demo.stdout


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_no_secret_anywhere(
    served: tuple[Sandbox, ServerThread],
    sandbox_server: ServerThread,
    debug_logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = served[0]
    evidence = Evidence()
    drivers = DRIVERS
    accounts = [
        sandbox.create_account(rate_limit_per_minute=1_000_000) for _ in range(len(drivers) + 1)
    ]
    for account in accounts:
        for secret in (account.api_key, account.client_secret, account.sdk_token):
            evidence.secret(secret)
    for driver, account in zip(drivers, accounts[:-1], strict=True):
        _flows(driver, sandbox, account, sandbox_server.url, evidence)
    _provider_flow(accounts[-1], sandbox_server.url, evidence)
    _cli(evidence, capsys)

    records = debug_logs.records
    assert any(r.name.startswith("httpcore.") for r in records)  # DEBUG logging was really on
    assert any(r.name.startswith("httpcore2.") for r in records) is HAVE_HTTPX2
    assert any(r.name == "authmatech" for r in records)
    for record in records:
        evidence.add(f"log {record.name}: message", record.getMessage())
        evidence.add(f"log {record.name}: args", repr(record.args))
        evidence.add(f"log {record.name}: msg", str(record.msg))
        if record.exc_info and record.exc_info[1] is not None:
            evidence.outcome(f"log {record.name}: exc_info", record.exc_info[1])
        if record.name.startswith("authmatech"):
            for text in (record.getMessage(), repr(record.args)):
                assert not RAW_NUMBER.search(text), f"unmasked number in {text!r}"

    assert len(evidence.secrets) >= 15 + 4 * 3  # 5 accounts, 3 new keys per driver
    leaks = [
        (where, secret)
        for where, text in evidence.texts
        for secret in evidence.secrets
        if secret in text
    ]
    leaks += [(where, m) for where, text in evidence.texts for m in SANDBOX_SECRET.findall(text)]
    assert not leaks, f"secrets leaked: {leaks[:5]}"
    TALLY["texts"] = len(evidence.texts)
    TALLY["records"] = len(records)


TALLY: dict[str, int] = {}


def test_credentials_echoed_by_a_broken_server_stay_out_of_errors() -> None:
    """A server that answers a broken status line quoting the request (headers and body): the
    errors name the failure and the host, and do not chain the HTTP library's exception, whose
    text quotes those bytes (with the API key or the client secret in them)."""
    key = "ak_raw_0123456789abcdefSECRET"
    client_secret = "cs_raw_0123456789abcdefSECRET"

    def echo(conn: Any, request: RawRequest) -> bool:
        echoed = request.headers["x-api-key"].encode() + b" " + request.body
        conn.sendall(b"NOT HTTP AT ALL " + echoed + b"\r\n\r\n")
        return False

    drivers = DRIVERS
    with RawServer(echo) as server:
        for driver in drivers:
            evidence = Evidence()
            for call in (
                lambda c: c.account.products(),
                lambda c: c.account.rotate_api_key(),
            ):
                outcome = _run(
                    driver,
                    evidence,
                    "echo",
                    {
                        "client_id": "cl_raw",
                        "api_key": key,
                        "client_secret": client_secret,
                        "base_url": server.url,
                        "timeout": Timeout.of(2),
                    },
                    call,
                )
                assert isinstance(outcome, authmatech.APIConnectionError), repr(outcome)
            leaks = [
                where for where, text in evidence.texts if key in text or client_secret in text
            ]
            assert not leaks, f"{driver}: a credential leaked into {leaks}"
        assert server.count == len(drivers) * (3 + 1)  # the GET is retried, the rotation is not
