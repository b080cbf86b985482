"""Independence from the client code, and no secret or raw number where it should not be."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from sandbox_helpers import NUMBER, OTHER_NUMBER, auth, call, data, sdk_auth, verify

import authmatech.sandbox as sandbox_package
from authmatech.sandbox import Sandbox, SandboxAccount


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.strip()


def test_import_authmatech_does_not_import_the_sandbox():
    code = "import sys, authmatech; print(any('sandbox' in name for name in sys.modules))"
    assert _run(code) == "False"


def test_the_sandbox_does_not_import_client_code():
    """The emulator is a server: no line of it may come from the client it is testing, but for
    the table of limits both apply (``authmatech.core._limits``, data only)."""
    for path in pathlib.Path(sandbox_package.__file__).parent.glob("*.py"):
        source = path.read_text().replace("from ..core import _limits\n", "")
        for banned in (
            "authmatech.core", "authmatech.transports", "from ..core", "from ..transports",
            "from .._", "import authmatech", "from .. import",
        ):  # fmt: skip
            assert banned not in source, (path.name, banned)


def test_the_shared_limits_are_data_only():
    """What the client and the sandbox share holds no checking code, so a bug in one side's
    checks still shows against the other."""
    import ast

    import authmatech.core._limits as limits

    tree = ast.parse(pathlib.Path(limits.__file__).read_text())
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "ImportFrom", "Import", "Assign"}, kinds
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert {alias.name for node in imports for alias in node.names} <= {"annotations", "re"}


def _full_flow(sb: Sandbox, account: SandboxAccount) -> list[bytes]:
    """Call every endpoint once; return every response body except the Stuck+ reveal."""
    proof = sb.device_proof(OTHER_NUMBER).encrypted_mobile_number
    signals = {"mobileNumber": NUMBER, "metadataId": "m-1", "device": {"deviceId": "d"}}
    bodies = [
        verify(sb, account, NUMBER, proof, mask=True).body,
        call(sb, "POST", f"/v1/api/verify/{sb.web_transaction(NUMBER)}", account=account,
             json_body={"mobileNumber": OTHER_NUMBER}, query={"maskMobile": "true"}).body,
        call(sb, "POST", "/v1/api/sdk/session", headers=sdk_auth(account), json_body={}).body,
        verify(sb, account, "+96279123456", proof).body,
    ]  # fmt: skip
    for path in ("/v1/api/trust/score", "/v1/api/shield/assess", "/v1/api/detect/analyze"):
        bodies.append(call(sb, "POST", path, account=account, json_body=signals).body)
    for path in ("products", "usage", "verifications", "balance-history", "stuck-plus/overview",
                 "stuck-plus/sessions", "stuck-plus/reveals"):  # fmt: skip
        bodies.append(call(sb, "GET", f"/v1/api/me/{path}", account=account).body)
    sessions = data(call(sb, "GET", "/v1/api/me/stuck-plus/sessions", account=account))
    session_id = sessions["sessions"][0]["sessionId"]
    reveal = call(
        sb, "POST", f"/v1/api/me/stuck-plus/sessions/{session_id}/reveal", account=account
    )
    assert OTHER_NUMBER in reveal.body.decode()
    bodies.append(call(sb, "GET", "/v1/api/me/stuck-plus/reveals", account=account).body)
    bodies.append(call(sb, "GET", f"/v1/api/me/stuck-plus/sessions/{session_id}/journey",
                       account=account).body)  # fmt: skip
    return bodies


def test_responses_never_carry_raw_numbers_or_credentials(sb: Sandbox, account: SandboxAccount):
    bodies = _full_flow(sb, account)
    assert len(bodies) == 16
    for body in bodies:
        text = body.decode()
        for number in (NUMBER, OTHER_NUMBER, "+96279123456"):
            assert number not in text
            assert number.lstrip("+") not in text
        for secret in (account.api_key, account.client_secret, account.sdk_token):
            assert secret.reveal() not in text


def test_state_keeps_digests_not_credentials(sb: Sandbox, account: SandboxAccount):
    _full_flow(sb, account)
    state = repr(sb._world)  # pyright: ignore[reportPrivateUsage]
    for secret in (account.api_key, account.client_secret, account.sdk_token):
        assert secret.reveal() not in state
    assert account.client_id in state
    assert secret_free(repr(sb.requests), account)


def secret_free(text: str, account: SandboxAccount) -> bool:
    return all(
        s.reveal() not in text for s in (account.api_key, account.client_secret, account.sdk_token)
    )


def test_integration_api_key_is_stored_as_a_digest(sb: Sandbox, account: SandboxAccount):
    body = {"displayName": "CRM", "integrationType": "WEBHOOK", "apiKey": "crm-key-456"}
    call(sb, "POST", "/v1/api/me/connect/integrations", account=account, json_body=body)
    assert "crm-key-456" not in repr(sb._world)  # pyright: ignore[reportPrivateUsage]


def test_account_repr_shows_fingerprints_only(sb: Sandbox, account: SandboxAccount):
    text = repr(account)
    assert secret_free(text, account)
    assert account.api_key.fingerprint in text
    assert auth(account)["X-API-KEY"] not in str(account)
