"""The client and the sandbox agree on what is valid: each value at a limit passes both, each
value just past it is refused by both (the client before sending, the sandbox with a 400).

Both read their limits from ``authmatech.core._limits``; the checks themselves are separate
code, which is what this test holds together.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from sandbox_helpers import NUMBER, auth, call, sdk_auth

import authmatech
from authmatech import core, models
from authmatech.core import _limits
from authmatech.sandbox import Sandbox, SandboxAccount

Build = Callable[[Any], core.Call[Any]]


def _verify(field: str) -> Build:
    def build(value: Any) -> core.Call[Any]:
        return core.verify(NUMBER, "proof", **{field: value})

    return build


def _integration(field: str) -> Build:
    def build(value: Any) -> core.Call[Any]:
        fields: dict[str, Any] = {"display_name": "CRM", "integration_type": "WEBHOOK"}
        fields[field] = value
        return core.connect_create_integration(models.ConnectIntegration(**fields))

    return build


def _signals(field: str) -> Build:
    def build(value: Any) -> core.Call[Any]:
        return core.trust_score({"mobileNumber": NUMBER, field: value})

    return build


ID = _limits.ID_MAX
#: (name, build a call from a value, a valid value at the limit, a value just past it)
CASES: list[tuple[str, Build, Any, Any]] = [
    ("serviceType known", _verify("service_type"), "TRANSACTION", "login"),
    ("serviceType added later", _verify("service_type"), "CHECKOUT", "Checkout"),
    ("serviceType length", _verify("service_type"), "A" * 64, "A" * 65),
    ("sdkSessionId", _verify("sdk_session_id"), "s" * ID, "s" * (ID + 1)),
    ("operatorId", _verify("operator_id"), "o" * ID, "o" * (ID + 1)),
    (
        "encryptedMobileNumber",
        lambda value: core.verify(NUMBER, value),
        "p" * _limits.TEXT_MAX,
        "p" * (_limits.TEXT_MAX + 1),
    ),
    (
        "register sdkSessionId",
        lambda value: core.register_sdk_session(sdk_session_id=value),
        "s" * ID,
        "s" * (ID + 1),
    ),
    ("signals sdkSessionId", _signals("sdkSessionId"), "s" * ID, "s" * (ID + 1)),
    (
        "signals metadataId",
        _signals("metadataId"),
        "m" * _limits.METADATA_ID_MAX,
        "m" * (_limits.METADATA_ID_MAX + 1),
    ),
    (
        "jobId",
        lambda value: core.connect_start_import(value, {"a": "b"}),
        "j" * ID,
        "j" * (ID + 1),
    ),
    (
        "fieldMappings nested",
        lambda value: core.connect_start_import("job", value),
        {"phone": "mobileNumber"},
        {"phone": {"to": "mobileNumber"}},
    ),
    (
        "integration fieldMappings nested",
        _integration("field_mappings"),
        {"phone": "mobileNumber"},
        {"phone": ["mobileNumber"]},
    ),
    ("batchSize", _integration("batch_size"), _limits.BATCH_SIZE_MAX, _limits.BATCH_SIZE_MAX + 1),
    ("batchSize zero", _integration("batch_size"), _limits.BATCH_SIZE_MIN, 0),
    (
        "endpointUrl scheme",
        _integration("endpoint_url"),
        "https://crm.example.com/hook",
        "ftp://crm.example.com/hook",
    ),
    ("endpointUrl host", _integration("endpoint_url"), "http://crm.example", "https:///hook"),
    (
        "endpointUrl length",
        _integration("endpoint_url"),
        "https://e.com/" + "x" * (_limits.ENDPOINT_URL_MAX - 14),
        "https://e.com/" + "x" * (_limits.ENDPOINT_URL_MAX - 13),
    ),
    (
        "displayName",
        _integration("display_name"),
        "d" * _limits.DISPLAY_NAME_MAX,
        "d" * (_limits.DISPLAY_NAME_MAX + 1),
    ),
    (
        "httpMethod",
        _integration("http_method"),
        "P" * _limits.HTTP_METHOD_MAX,
        "P" * (_limits.HTTP_METHOD_MAX + 1),
    ),
]


CREDENTIALS = authmatech.Credentials("cl", api_key="ak", sdk_token="st", client_secret="cs")


def _status(
    sb: Sandbox, account: SandboxAccount, built: core.Call[Any], body: bytes | None = None
) -> int:
    """What the sandbox answers to a request the core built (or to ``body`` in its place),
    sent with the account's credential for the operation."""
    request = built.build(CREDENTIALS)
    headers = sdk_auth(account) if "X-SDK-TOKEN" in request.headers else auth(account)
    headers["Content-Type"] = "application/json"
    path = urlsplit(request.url).path
    sent = request.body if body is None else body
    return call(sb, request.method, path, headers=headers, body=sent).status


def _swap(node: Any, old: Any, new: Any) -> Any:
    if node == old:
        return new
    if isinstance(node, dict):
        return {key: _swap(value, old, new) for key, value in node.items()}
    return node


@pytest.mark.parametrize(("name", "build", "valid", "invalid"), CASES, ids=[c[0] for c in CASES])
def test_client_and_sandbox_agree(
    sb: Sandbox, account: SandboxAccount, name: str, build: Build, valid: Any, invalid: Any
) -> None:
    built = build(valid)
    assert _status(sb, account, built) == 200, f"the sandbox refuses {name} at the limit"
    with pytest.raises(authmatech.RequestValidationError):
        build(invalid)
    # The same request with the value the client refuses, as curl or another SDK may send it.
    document = json.loads(built.build(CREDENTIALS).body or b"{}")
    swapped = _swap(document, valid, invalid)
    assert swapped != document
    status = _status(sb, account, built, json.dumps(swapped).encode())
    assert status == 400, f"the sandbox accepts {name} that the client refuses"
