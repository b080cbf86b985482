"""Every method of both clients, against httpx.MockTransport: what goes on the wire and what
comes back."""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import pytest
import respx

import authmatech
from authmatech import Decision, DeviceSignal, NetworkSignal, Signals

from .conftest import (
    API_KEY,
    BASE,
    CLIENT_ID,
    CLIENT_SECRET,
    NUMBER,
    SDK_TOKEN,
    Script,
    make_async,
    make_sync,
    ok,
)

SIGNALS = Signals(
    mobile_number=NUMBER,
    metadata_id="order-9921",
    device=DeviceSignal(platform="android", is_rooted=False),
    network=NetworkSignal(country_code="JO", operator="ZAIN_JO"),
)
INTEGRATION = authmatech.ConnectIntegration(
    display_name="CRM", integration_type="WEBHOOK", api_key=authmatech.Secret("crm-key")
)

# (group, method, args, kwargs, HTTP method, path, expected body or None, answer data)
CASES: list[tuple[str | None, str, tuple[Any, ...], dict[str, Any], str, str, Any, Any]] = [
    (
        None,
        "verify",
        (NUMBER, "BLOB"),
        {"operator_id": "ZAIN_JO", "service_type": "LOGIN"},
        "POST",
        "/v1/api/verify",
        {
            "mobileNumber": NUMBER,
            "encryptedMobileNumber": "BLOB",
            "operatorId": "ZAIN_JO",
            "serviceType": "LOGIN",
        },
        {"validNumber": True},
    ),
    (
        None,
        "verify_web",
        ("tx-1", NUMBER),
        {"service_type": authmatech.ServiceType.REGISTRATION},
        "POST",
        "/v1/api/verify/tx-1",
        {"mobileNumber": NUMBER, "serviceType": "REGISTRATION"},
        {"validNumber": False},
    ),
    (
        "intelligence",
        "trust_score",
        (SIGNALS,),
        {},
        "POST",
        "/v1/api/trust/score",
        {
            "mobileNumber": NUMBER,
            "metadataId": "order-9921",
            "device": {"platform": "android", "isRooted": False},
            "network": {"countryCode": "JO", "operator": "ZAIN_JO"},
        },
        {"transactionId": "TR-1", "trustScore": 85, "recommendation": "ALLOW"},
    ),
    (
        "intelligence",
        "shield_assess",
        ({"mobileNumber": NUMBER},),
        {},
        "POST",
        "/v1/api/shield/assess",
        {"mobileNumber": NUMBER},
        {"decision": "BLOCK"},
    ),
    (
        "intelligence",
        "detect_analyze",
        (SIGNALS,),
        {},
        "POST",
        "/v1/api/detect/analyze",
        None,
        {"transactionId": "DE-1", "anomalies": [{"type": "VELOCITY_SPIKE"}]},
    ),
    (
        "account",
        "rotate_api_key",
        (),
        {},
        "POST",
        "/v1/api/me/api-key/rotate",
        {"secretKey": CLIENT_SECRET},
        {"newApiKey": "ak_new_1"},
    ),
    (
        "account",
        "rotate_client_key",
        (),
        {},
        "POST",
        "/v1/api/clients/rotate-key",
        {"secretKey": CLIENT_SECRET},
        {"newApiKey": "ak_new_2"},
    ),
    (
        "account",
        "rotate_client_key_by_id",
        (),
        {},
        "POST",
        f"/v1/api/clients/{CLIENT_ID}/rotate-key",
        {"secretKey": CLIENT_SECRET},
        {"newApiKey": "ak_new_3"},
    ),
    (
        "account",
        "generate_api_key",
        (),
        {},
        "POST",
        "/v1/api/me/api-key/generate",
        {"secretKey": CLIENT_SECRET},
        {"apiKey": "ak_gen"},
    ),
    ("account", "products", (), {}, "GET", "/v1/api/me/products", None, ["VERIFY"]),
    (
        "account",
        "usage",
        ({"from": "2026-01-01", "daily": True},),
        {},
        "GET",
        "/v1/api/me/usage?from=2026-01-01&daily=true",
        None,
        {"count": 3},
    ),
    ("account", "verifications", (), {}, "GET", "/v1/api/me/verifications", None, []),
    ("account", "balance_history", (), {}, "GET", "/v1/api/me/balance-history", None, []),
    ("stuck_plus", "overview", (), {}, "GET", "/v1/api/me/stuck-plus/overview", None, {}),
    ("stuck_plus", "sessions", (), {}, "GET", "/v1/api/me/stuck-plus/sessions", None, []),
    (
        "stuck_plus",
        "journey",
        ("s:1",),
        {},
        "GET",
        "/v1/api/me/stuck-plus/sessions/s%3A1/journey",
        None,
        {},
    ),
    (
        "stuck_plus",
        "reveal",
        ("s1",),
        {},
        "POST",
        "/v1/api/me/stuck-plus/sessions/s1/reveal",
        {},
        {},
    ),
    ("stuck_plus", "reset", ("s1",), {}, "POST", "/v1/api/me/stuck-plus/sessions/s1/reset", {}, {}),
    (
        "stuck_plus",
        "backfill",
        ({"days": 7},),
        {},
        "POST",
        "/v1/api/me/stuck-plus/backfill",
        {"days": 7},
        {},
    ),
    ("stuck_plus", "reveals", (), {}, "GET", "/v1/api/me/stuck-plus/reveals", None, []),
    (
        "connect",
        "start_import",
        ("job-1", {"a": "b"}),
        {},
        "POST",
        "/v1/api/me/connect/import/start",
        {"jobId": "job-1", "fieldMappings": {"a": "b"}},
        {},
    ),
    (
        "connect",
        "create_integration",
        (INTEGRATION,),
        {},
        "POST",
        "/v1/api/me/connect/integrations",
        {"displayName": "CRM", "integrationType": "WEBHOOK", "apiKey": "crm-key"},
        {"id": "i1"},
    ),
]
IDS = [f"{group or 'client'}.{name}" for group, name, *_ in CASES]


def _target(client: Any, group: str | None, name: str) -> Any:
    return getattr(getattr(client, group) if group else client, name)


def _check(script: Script, method: str, path: str, body: Any, result: Any, data: Any) -> None:
    assert script.count == 1
    request = script.requests[0]
    assert request.method == method
    assert str(request.url) == BASE + path
    assert request.headers["x-client-id"] == CLIENT_ID
    assert request.headers["x-api-key"] == API_KEY
    assert "x-sdk-token" not in request.headers
    assert request.headers["user-agent"].startswith("authmatech-python/")
    if body is not None:
        assert script.body() == body
    if method == "GET":
        assert request.content == b""
        assert "content-type" not in request.headers
    if CLIENT_SECRET.encode() in request.content:
        assert path.endswith(("rotate", "rotate-key", "generate"))
    if isinstance(result, authmatech.ApiResult):
        assert result.data == data
    elif isinstance(result, (authmatech.RotatedApiKey, authmatech.GeneratedApiKey)):
        assert result.api_key.reveal() in (data.get("newApiKey"), data.get("apiKey"))
    else:
        assert dict(result.raw) == data


@pytest.mark.parametrize(
    ("group", "name", "args", "kwargs", "method", "path", "body", "data"), CASES, ids=IDS
)
def test_sync_method(
    group: str | None,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    method: str,
    path: str,
    body: Any,
    data: Any,
) -> None:
    script = Script(ok(data))
    with make_sync(script) as client:
        result = _target(client, group, name)(*args, **kwargs)
    _check(script, method, path, body, result, data)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("group", "name", "args", "kwargs", "method", "path", "body", "data"), CASES, ids=IDS
)
async def test_async_method(
    group: str | None,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    method: str,
    path: str,
    body: Any,
    data: Any,
) -> None:
    script = Script(ok(data))
    async with make_async(script) as client:
        result = await _target(client, group, name)(*args, **kwargs)
    _check(script, method, path, body, result, data)


def test_every_operation_has_a_method_on_both_clients() -> None:
    covered = {f"{group}.{name}" if group else name for group, name, *_ in CASES}
    covered.add("sdk.register_session")
    assert covered == {
        name.replace("rotate_client_key_by_id", "rotate_client_key_by_id")
        for name in authmatech.core.OPERATIONS
    }


def _public_methods(obj: Any) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(getattr(obj, name))
        for name in dir(obj)
        if not name.startswith("_") and callable(getattr(obj, name))
    }


def _shape(signature: inspect.Signature) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize("group", [None, "sdk", "intelligence", "account", "stuck_plus", "connect"])
def test_signatures_match_between_clients(group: str | None) -> None:
    sync = authmatech.Client(client_id=CLIENT_ID, api_key=API_KEY)
    asynchronous = authmatech.AsyncClient(client_id=CLIENT_ID, api_key=API_KEY)
    left = _public_methods(getattr(sync, group) if group else sync)
    right = _public_methods(getattr(asynchronous, group) if group else asynchronous)
    for name in ("close", "aclose"):
        left.pop(name, None)
        right.pop(name, None)
    assert left.keys() == right.keys()
    for name in left:
        assert _shape(left[name]) == _shape(right[name]), name
        if group or name in ("verify", "verify_web"):
            assert inspect.iscoroutinefunction(
                getattr(getattr(asynchronous, group) if group else asynchronous, name)
            )
            assert left[name].return_annotation == right[name].return_annotation, name
    assert _shape(inspect.signature(authmatech.Client)) == _shape(
        inspect.signature(authmatech.AsyncClient)
    )
    sync.close()


def test_sdk_token_client_registers_a_session_and_nothing_else() -> None:
    script = Script(ok({"sdkSessionId": "sess-1"}))
    client = make_sync(script, api_key=None, client_secret=None, sdk_token=SDK_TOKEN)
    session = client.sdk.register_session(
        sdk_session_id="sess-1",
        mno_id="ZAIN_JO",
        authmatech_code_present=True,
        device_context=authmatech.DeviceContext(platform="android"),
    )
    assert session.sdk_session_id == "sess-1"
    request = script.requests[0]
    assert request.headers["x-sdk-token"] == SDK_TOKEN
    assert "x-api-key" not in request.headers
    assert script.body() == {
        "sdkSessionId": "sess-1",
        "mnoId": "ZAIN_JO",
        "authmatechCodePresent": True,
        "deviceContext": {"platform": "android"},
    }
    with pytest.raises(authmatech.CredentialScopeError) as info:
        client.verify(NUMBER, "BLOB")
    assert "verify needs the API key" in str(info.value)
    assert SDK_TOKEN not in str(info.value)
    assert script.count == 1


def test_register_session_never_sends_the_api_key_even_when_held() -> None:
    script = Script(ok({"sdkSessionId": "s"}), ok({"validNumber": True}))
    client = make_sync(script, sdk_token=SDK_TOKEN)
    client.sdk.register_session()
    assert "x-api-key" not in script.requests[0].headers
    client.verify(NUMBER, "BLOB")
    assert "x-sdk-token" not in script.requests[1].headers


def test_negative_verdicts_are_results() -> None:
    script = Script(ok({"validNumber": False}), ok({"decision": "BLOCK", "riskLevel": "CRITICAL"}))
    client = make_sync(script)
    assert client.verify(NUMBER, "BLOB").valid_number is False
    shield = client.intelligence.shield_assess(SIGNALS)
    assert shield.decision is Decision.BLOCK
    assert shield.risk_level is authmatech.RiskLevel.CRITICAL


def test_mask_mobile_travels_as_a_query_parameter() -> None:
    script = Script(ok({"validNumber": True, "mobileNumber": "**********67"}))
    result = make_sync(script).verify(NUMBER, "BLOB", mask_mobile=True)
    assert script.requests[0].url.params["maskMobile"] == "true"
    assert result.masked_mobile_number == "**********67"


def test_bad_input_is_refused_before_anything_is_sent() -> None:
    script = Script()
    client = make_sync(script)
    for call in (
        lambda: client.verify("0791234567", "BLOB"),
        lambda: client.verify(NUMBER, ""),
        lambda: client.verify(NUMBER, "BLOB", service_type="login"),
        lambda: client.verify(None, "BLOB"),  # type: ignore[arg-type]
        lambda: client.verify_web("a/b", NUMBER),
        lambda: client.intelligence.trust_score({"mobileNumber": "+1 555"}),
        lambda: client.account.usage({"from": object()}),  # type: ignore[dict-item]
    ):
        with pytest.raises(authmatech.RequestValidationError):
            call()
    assert script.count == 0


def test_respx_routes_work_as_httpx_users_expect() -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        route = router.post("/v1/api/verify").mock(
            return_value=httpx.Response(
                200, json={"success": True, "messages": [], "data": {"validNumber": True}}
            )
        )
        products = router.get("/v1/api/me/products").mock(
            return_value=httpx.Response(
                401,
                json={
                    "success": False,
                    "messages": [
                        {"type": "FAILURE", "message": "Unauthorized", "httpStatus": "UNAUTHORIZED"}
                    ],
                    "data": None,
                },
            )
        )
        with authmatech.Client(client_id=CLIENT_ID, api_key=API_KEY) as client:
            assert client.verify(NUMBER, "BLOB").valid_number is True
            with pytest.raises(authmatech.AuthenticationError) as info:
                client.account.products()
        assert route.call_count == 1
        assert products.call_count == 1
        assert route.calls.last.request.headers["x-api-key"] == API_KEY
        assert "whitespace" in str(info.value)
        assert API_KEY not in str(info.value)


@pytest.mark.anyio
async def test_respx_with_the_async_client() -> None:
    with respx.mock(base_url=BASE) as router:
        router.post("/v1/api/verify").respond(
            200, json={"success": True, "messages": [], "data": {"validNumber": False}}
        )
        async with authmatech.AsyncClient(client_id=CLIENT_ID, api_key=API_KEY) as client:
            result = await client.verify(NUMBER, "BLOB")
    assert result.valid_number is False
