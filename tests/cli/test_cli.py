"""The command line: the demo, verify and rotate-key with --sandbox, serve, and error paths."""

from __future__ import annotations

import io
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import authmatech
from authmatech import cli

FINGERPRINT = re.compile(r"sha256:[0-9a-f]{12}")
RAW_SECRET = re.compile(r"\b(ak|cs|sdk)_sbx_[A-Za-z0-9_-]{10,}")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


def test_demo_runs_the_documented_flow_and_shows_no_secret() -> None:
    started = time.monotonic()
    code, text = run("demo")
    assert code == 0
    assert time.monotonic() - started < 5
    for expected in (
        "sdkSessionId",
        "validNumber: True",
        "validNumber: False",
        "maskMobile=true  ->  ***********67",
        "CredentialScopeError: verify needs the API key",
        "requests sent meanwhile: 0",
        "a quoted key -> ConfigurationError: AUTHMATECH_API_KEY is wrapped in quotes",
        "old key  -> AuthenticationError 401",
        "decision BLOCK",
        "answered after 2 requests",
    ):
        assert expected in text, expected
    assert FINGERPRINT.search(text)
    assert not RAW_SECRET.search(text)
    assert "+962791234567" not in text


def test_demo_as_a_module_exits_zero() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "authmatech", "demo"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Done in" in done.stdout
    assert not RAW_SECRET.search(done.stdout + done.stderr)


def test_verify_with_the_sandbox() -> None:
    code, text = run("verify", "+962791234567", "--sandbox", "--mask-mobile")
    assert code == 0
    assert "validNumber: true" in text
    assert "+9627*****67" in text


def test_verify_with_a_wrong_proof_exits_one() -> None:
    code, text = run("verify", "+962791234567", "--sandbox", "--proof", "not-a-proof")
    assert code == 1
    assert "validNumber: false" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "0791234567", "--sandbox"], "E.164"),
        (["verify", "+962791234567"], "--proof is required"),
        (["sandbox", "serve", "--host", "0.0.0.0"], "pass --allow-non-loopback"),
        (["sandbox", "serve", "--port", "70000"], "--port"),
        (["sandbox", "serve", "--rate-limit", "0"], "--rate-limit must be at least 1"),
        (["sandbox", "serve", "--rate-window", "0"], "--rate-window must be more than 0"),
    ],
)
def test_user_errors_exit_two_without_a_traceback(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHMATECH_CLIENT_ID", "cid")
    monkeypatch.setenv("AUTHMATECH_API_KEY", "key")
    code, _ = run(*argv)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_missing_client_id_is_a_user_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTHMATECH_CLIENT_ID", raising=False)
    code, _ = run("verify", "+962791234567", "--proof", "x")
    assert code == 2
    assert "AUTHMATECH_CLIENT_ID" in capsys.readouterr().err


def test_rotate_key_with_the_sandbox_prints_the_new_key_once() -> None:
    code, text = run("rotate-key", "--sandbox")
    assert code == 0
    assert len(RAW_SECRET.findall(text)) == 1
    assert "update every system that uses it" in text
    code, text = run("rotate-key", "--sandbox", "--by-client")
    assert code == 0


def test_rotate_key_without_a_secret_or_terminal_is_a_user_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHMATECH_CLIENT_ID", "cid")
    monkeypatch.setenv("AUTHMATECH_API_KEY", "key")
    monkeypatch.delenv("AUTHMATECH_CLIENT_SECRET", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _ = run("rotate-key")
    assert code == 2
    assert "AUTHMATECH_CLIENT_SECRET" in capsys.readouterr().err


def test_api_failures_exit_three(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHMATECH_CLIENT_ID", "cid")
    monkeypatch.setenv("AUTHMATECH_API_KEY", "key")
    monkeypatch.setenv("AUTHMATECH_BASE_URL", "http://127.0.0.1:9")
    code, _ = run("verify", "+962791234567", "--proof", "x")
    err = capsys.readouterr().err
    assert code == 3
    assert "APIConnectionError" in err
    assert "key" not in err.split(":", 1)[1].replace("keep", "")


def test_help_everywhere() -> None:
    for argv in ([], ["verify"], ["rotate-key"], ["sandbox"], ["sandbox", "serve"], ["demo"]):
        done = subprocess.run(
            [sys.executable, "-m", "authmatech", *argv, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0
        assert "usage: authmatech" in done.stdout


def test_sandbox_serve_answers_the_documented_curl_request() -> None:
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "authmatech", "sandbox", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = ""
        while "web-transactions" not in banner:
            line = server.stdout.readline()
            assert line, server.stderr.read() if server.stderr else ""
            banner += line
        for _ in range(3):
            banner += server.stdout.readline()
        url = re.search(r"listening on (http://\S+)", banner).group(1)  # type: ignore[union-attr]
        exports = dict(re.findall(r"export (AUTHMATECH_\w+)=(\S+)", banner))
        proof = re.search(r'"encryptedMobileNumber": "([^"]+)"', banner).group(1)  # type: ignore[union-attr]
        headers = {
            "X-API-KEY": exports["AUTHMATECH_API_KEY"],
            "X-CLIENT-ID": exports["AUTHMATECH_CLIENT_ID"],
        }
        answer = httpx.post(
            f"{url}/v1/api/verify",
            headers=headers,
            json={
                "mobileNumber": "+962791234567",
                "encryptedMobileNumber": proof,
                "operatorId": "ZAIN_JO",
                "serviceType": "LOGIN",
            },
        )
        assert answer.status_code == 200
        assert answer.json()["data"] == {"validNumber": True}
        products = httpx.get(f"{url}/v1/api/me/products", headers=headers)
        assert products.json()["success"] is True
        unauthorized = httpx.get(
            f"{url}/v1/api/me/products", headers={**headers, "X-API-KEY": "wrong"}
        )
        assert unauthorized.status_code == 401
        if shutil.which("curl"):
            _run_the_banners_curl_commands(banner)
    finally:
        server.terminate()
        server.communicate(timeout=10)


def _run_the_banners_curl_commands(banner: str) -> None:
    """Paste the printed curl commands into a shell, as a user would."""
    commands = re.findall(r"^  (curl .*?)(?=\n\n|\n[A-Z]|\Z)", banner, flags=re.S | re.M)
    assert len(commands) == 4
    outputs = []
    for command in commands:
        done = subprocess.run(
            ["sh", "-c", command.strip() + " --silent --show-error --max-time 10"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(json.loads(done.stdout))
    assert outputs[0]["data"] == {"validNumber": True}
    assert outputs[1]["success"] is True
    minted = outputs[2]["data"]
    assert (minted["mobileNumber"], minted["operatorId"]) == ("+962781234567", "ORANGE_JO")
    assert outputs[3]["data"]["mobileNumber"] == "+962781234567"


def test_rotate_key_prints_an_answer_it_cannot_use_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """The old key may be dead: the answer (where the new key may hide) is all there is."""
    real = cli._sandbox_client

    def renamed_field(rotating: bool = False) -> Any:
        sandbox, client = real(rotating)
        body = b'{"success": true, "data": {"credentialV9": "ak_renamed_0123456789"}}'
        sandbox.inject_fault(
            status=200, body=body, path="/v1/api/me/api-key/rotate", processed=True
        )
        return sandbox, client

    monkeypatch.setattr(cli, "_sandbox_client", renamed_field)
    code, text = run("rotate-key", "--sandbox")
    assert code == 3
    assert "ak_renamed_0123456789" in text
    assert "KeyResponseError" not in text
    assert "may already have retired the old key" in text


def test_sandbox_serve_on_a_busy_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, _ = run("sandbox", "serve", "--port", str(busy.getsockname()[1]))
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("authmatech: error: cannot listen on 127.0.0.1:")
    assert "pick another --port" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "ExceptionGroup" not in err


def test_sandbox_serve_allow_non_loopback_warns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from authmatech.sandbox import _server

    bound: list[tuple[str, bool]] = []
    real_open = _server.open_listener

    async def open_on_loopback(host: str, port: int, *, allow_non_loopback: bool) -> object:
        bound.append((host, allow_non_loopback))  # the test itself stays on loopback
        return await real_open("127.0.0.1", 0)

    async def serve_once(*args: object) -> None:
        return None

    monkeypatch.setattr(_server, "open_listener", open_on_loopback)
    monkeypatch.setattr(_server, "serve_on", serve_once)
    code, text = run("sandbox", "serve", "--host", "0.0.0.0", "--allow-non-loopback")
    assert code == 0
    assert bound == [("0.0.0.0", True)]
    assert "listening on http://0.0.0.0:" in text
    err = capsys.readouterr().err
    assert "warning: the sandbox is reachable from the network" in err


def test_verify_json_is_one_object_with_the_number_masked() -> None:
    code, text = run("verify", "+962791234567", "--sandbox", "--json", "--mask-mobile")
    assert code == 0
    verdict = json.loads(text)
    assert verdict == {
        "ok": True,
        "exitCode": 0,
        "mobileNumber": "+9627*****67",
        "validNumber": True,
        "maskedMobileNumber": "***********67",
    }
    code, text = run("verify", "+962791234567", "--sandbox", "--json", "--proof", "wrong")
    assert (code, json.loads(text)["validNumber"]) == (1, False)


def test_json_errors_are_json_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run("verify", "0791234567", "--sandbox", "--json")
    assert code == 2
    error = json.loads(text)
    assert (error["ok"], error["exitCode"], error["error"]["type"]) == (
        False,
        2,
        "RequestValidationError",
    )
    assert "authmatech: error:" in capsys.readouterr().err


def test_rotate_key_json_holds_fingerprints_and_never_the_key(tmp_path: Path) -> None:
    key_file = tmp_path / "new-key"
    code, text = run("rotate-key", "--sandbox", "--json", "--key-file", str(key_file))
    assert code == 0
    report = json.loads(text)
    assert FINGERPRINT.fullmatch(report["oldFingerprint"])
    assert FINGERPRINT.fullmatch(report["newFingerprint"])
    assert report["oldFingerprint"] != report["newFingerprint"]
    assert report["endpoint"] == "/v1/api/me/api-key/rotate"
    assert not RAW_SECRET.search(text)
    key = key_file.read_text().strip()
    assert RAW_SECRET.fullmatch(key)
    assert authmatech.Secret(key).fingerprint == report["newFingerprint"]
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_rotate_key_json_without_a_key_file_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, text = run("rotate-key", "--sandbox", "--json")
    assert code == 2
    assert "--key-file" in json.loads(text)["error"]["message"]
    assert not RAW_SECRET.search(text + capsys.readouterr().err)


def test_rotate_key_never_writes_over_a_file(tmp_path: Path) -> None:
    existing = tmp_path / "keep"
    existing.write_text("precious")
    code, _ = run("rotate-key", "--sandbox", "--key-file", str(existing))
    assert code == 2
    assert existing.read_text() == "precious"
    code, text = run("rotate-key", "--sandbox", "--key-file", str(tmp_path / "new"))
    assert code == 0
    assert not RAW_SECRET.search(text)


def test_a_failed_rotation_leaves_no_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHMATECH_CLIENT_ID", "cid")
    monkeypatch.setenv("AUTHMATECH_API_KEY", "key")
    monkeypatch.setenv("AUTHMATECH_CLIENT_SECRET", "secret")
    monkeypatch.setenv("AUTHMATECH_BASE_URL", "http://127.0.0.1:9")
    key_file = tmp_path / "new-key"
    code, _ = run("rotate-key", "--key-file", str(key_file))
    assert code == 3
    assert not key_file.exists()


@pytest.mark.parametrize("value", ["login", "Log In", "LOGIN ", ""])
def test_service_type_is_checked_before_anything_else(
    value: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTHMATECH_CLIENT_ID", raising=False)  # would be the next error
    with pytest.raises(SystemExit) as exited:
        run("verify", "+962791234567", "--proof", "x", "--service-type", value)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --service-type: service_type must be one of" in err
    assert "AUTHMATECH_CLIENT_ID" not in err


def test_a_service_type_authmatech_may_add_passes() -> None:
    code, _ = run("verify", "+962791234567", "--sandbox", "--service-type", "CHECKOUT")
    assert code == 0


def test_exit_codes_are_in_the_help_and_the_docs(capsys: pytest.CaptureFixture[str]) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    for argv in ([], ["verify"], ["rotate-key"]):
        with pytest.raises(SystemExit):
            run(*argv, "--help")
        shown = capsys.readouterr().out
        for code, meaning in cli.EXIT_CODES:
            assert f"{code:<3} {meaning}" in shown
            assert f"| `{code}` | {meaning} |" in docs
