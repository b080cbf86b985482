"""Every public method of both clients, found by introspection, with valid and bad values for
each of their parameters (shared by the bad-input tests and the argument fuzzing)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import httpx

import authmatech
from authmatech import ConnectIntegration, DeviceContext, Timeout

from .support import NUMBER

HUGE = "x" * 10_000_000  # 10 MB
SURROGATE = "ab\ud800cd"
#: Not calls: lifecycle and derivation (``with_options`` is checked with the constructors).
NOT_CALLS = frozenset({"close", "aclose", "with_options"})

VALID: dict[str, Any] = {
    "mobile_number": NUMBER,
    "encrypted_mobile_number": "proof-token",
    "operator_id": "ZAIN_JO",
    "service_type": "LOGIN",
    "sdk_session_id": "s-1",
    "mask_mobile": False,
    "transaction_id": "tx-1",
    "mno_id": "ZAIN_JO",
    "authmatech_code_present": True,
    "authmatech_code_hash": "abc123",
    "device_context": DeviceContext(platform="android"),
    "signals": {"mobileNumber": NUMBER},
    "params": {"page": 1},
    "client_id": "cl_other",
    "session_id": "sess-1",
    "body": {"from": "2024-01-01"},
    "job_id": "job-1",
    "field_mappings": {"Phone": "mobileNumber"},
    "integration": ConnectIntegration(display_name="CRM", integration_type="WEBHOOK"),
}

_WRONG_TYPES = [12345, 1.5, b"bytes", ["list"], object()]
_TEXT = [None, "", "   ", HUGE, SURROGATE, *_WRONG_TYPES]
_OPTIONAL_TEXT = ["", "  ", HUGE, SURROGATE, *_WRONG_TYPES]
_IDENTIFIER = ["", "a/b", "..", "has space", "tab\t", SURROGATE, HUGE, *_WRONG_TYPES]
_FLAG = ["true", 1, 0, *_WRONG_TYPES]
_MAPPING = ["text", {1: "a"}, {"a": SURROGATE}, {"a": HUGE}, {"a": {1, 2}}, 12345, ["list"]]

BAD: dict[str, list[Any]] = {
    "mobile_number": [
        "0791234567",
        "+971 50 123 4567",
        "+966-51-2345678",
        "962791234567",
        "+0791234567",
        "+96279123456789012",
        *_TEXT,
    ],
    "encrypted_mobile_number": _TEXT,
    "operator_id": _OPTIONAL_TEXT,
    "service_type": ["login", "", "LOG IN", SURROGATE, HUGE, *_WRONG_TYPES],
    "sdk_session_id": _OPTIONAL_TEXT,
    "mask_mobile": [None, *_FLAG],
    "transaction_id": [None, *_IDENTIFIER],
    "mno_id": _OPTIONAL_TEXT,
    "authmatech_code_present": _FLAG,
    "authmatech_code_hash": _OPTIONAL_TEXT,
    "device_context": ["android", {"platform": "android"}, *_WRONG_TYPES],
    "signals": [
        None,
        "text",
        {},
        {"mobileNumber": "0791234567"},
        {"mobileNumber": SURROGATE},
        {"mobileNumber": NUMBER, "device": "rooted"},
        {"mobileNumber": NUMBER, "metadataId": HUGE},
        {"mobileNumber": NUMBER, "metadataId": SURROGATE},
        *_WRONG_TYPES,
    ],
    "params": [*_MAPPING, {"a": None}, {"a": 1.5}, {"a": 10**30}, {SURROGATE: "x"}],
    "client_id": _IDENTIFIER,
    "session_id": [None, *_IDENTIFIER],
    "body": [*_MAPPING, {"a": float("nan")}],
    "job_id": _TEXT,
    "field_mappings": [None, *_MAPPING],
    "integration": [
        None,
        {"displayName": "CRM", "integrationType": "WEBHOOK"},
        ConnectIntegration(display_name="", integration_type="WEBHOOK"),
        ConnectIntegration(display_name=HUGE, integration_type="WEBHOOK"),
        ConnectIntegration(display_name="CRM", integration_type="WEBHOOK", batch_size=0),
        ConnectIntegration(display_name="CRM", integration_type="WEBHOOK", endpoint_url=HUGE),
        ConnectIntegration(
            display_name="CRM", integration_type="WEBHOOK", field_mappings={"a": SURROGATE}
        ),
        *_WRONG_TYPES,
    ],
}


def public_calls(client: Any) -> Iterator[tuple[str, Callable[..., Any]]]:
    """``(dotted name, bound method)`` for every public call of ``client`` and its groups."""
    for name in sorted(dir(client)):
        if name.startswith("_") or name in NOT_CALLS:
            continue
        attribute = getattr(client, name)
        if inspect.ismethod(attribute):
            yield name, attribute
        elif hasattr(attribute, "_client"):  # a resource group: client.account, ...
            for method in sorted(dir(attribute)):
                if not method.startswith("_"):
                    yield f"{name}.{method}", getattr(attribute, method)


def parameters(method: Callable[..., Any]) -> list[inspect.Parameter]:
    return list(inspect.signature(method).parameters.values())


def call_args(method: Callable[..., Any], **override: Any) -> tuple[list[Any], dict[str, Any]]:
    """Valid arguments for ``method``, with ``override`` replacing some."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for parameter in parameters(method):
        value = override.get(parameter.name, VALID[parameter.name])
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = value
        else:
            args.append(value)
    return args, kwargs


class Counter:
    """An httpx handler that counts requests and answers a valid envelope."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        data = {"newApiKey": "ak_new_0123456789", "apiKey": "ak_new_0123456789"}
        return httpx.Response(200, json={"success": True, "messages": [], "data": data})


CREDENTIALS: dict[str, Any] = {
    "client_id": "cl_inputs",
    "api_key": "ak_inputs_0123456789",
    "client_secret": "cs_inputs_0123456789",
    "sdk_token": "sdk_inputs_0123456789",
    "base_url": "https://service.authmatech.com",
    "timeout": Timeout.of(5),
}


def sync_client(counter: Counter) -> authmatech.Client:
    return authmatech.Client(
        **CREDENTIALS, http_client=httpx.Client(transport=httpx.MockTransport(counter))
    )


def async_client(counter: Counter) -> authmatech.AsyncClient:
    return authmatech.AsyncClient(
        **CREDENTIALS, http_client=httpx.AsyncClient(transport=httpx.MockTransport(counter))
    )
