"""Rule 4: request building: URLs, headers, JSON bodies, ClientConfig, HttpRequest, Timeout."""

from __future__ import annotations

import json
import math
import platform
from typing import Any

import pytest
from core_helpers import API_KEY, CALLS, CLIENT_ID, NUMBER, SDK_TOKEN, SIGNALS

from authmatech import core, models
from authmatech._version import __version__
from authmatech.credentials import Credentials, Secret
from authmatech.errors import ConfigurationError, RequestValidationError

BASE = "https://service.authmatech.com"
UA = f"authmatech-python/{__version__} python/{platform.python_version()}"

# --- URLs -----------------------------------------------------------------------------------


def test_default_base_url() -> None:
    assert core.DEFAULT_BASE_URL == BASE
    assert core.ClientConfig().base_url == BASE


@pytest.mark.parametrize(
    ("call", "url"),
    [
        (lambda: core.verify(NUMBER, "proof"), f"{BASE}/v1/api/verify"),
        (lambda: core.verify(NUMBER, "proof", mask_mobile=False), f"{BASE}/v1/api/verify"),
        (
            lambda: core.verify(NUMBER, "proof", mask_mobile=True),
            f"{BASE}/v1/api/verify?maskMobile=true",
        ),
        (lambda: core.verify_web("tx-1", NUMBER), f"{BASE}/v1/api/verify/tx-1"),
        (
            lambda: core.verify_web("tx-1", NUMBER, mask_mobile=True),
            f"{BASE}/v1/api/verify/tx-1?maskMobile=true",
        ),
        (lambda: core.verify_web("a%b?c#d", NUMBER), f"{BASE}/v1/api/verify/a%25b%3Fc%23d"),
        (lambda: core.verify_web("tx:1@x;y", NUMBER), f"{BASE}/v1/api/verify/tx%3A1%40x%3By"),
        (lambda: core.verify_web("caf\u00e9", NUMBER), f"{BASE}/v1/api/verify/caf%C3%A9"),
        (
            lambda: core.stuck_plus_journey("s&1=2"),
            f"{BASE}/v1/api/me/stuck-plus/sessions/s%261%3D2/journey",
        ),
        (
            lambda: core.stuck_plus_reveal("sess-1"),
            f"{BASE}/v1/api/me/stuck-plus/sessions/sess-1/reveal",
        ),
        (
            lambda: core.rotate_client_key_by_id("cl+1"),
            f"{BASE}/v1/api/clients/cl%2B1/rotate-key",
        ),
        (lambda: core.account_products(), f"{BASE}/v1/api/me/products"),
        (lambda: core.account_products({}), f"{BASE}/v1/api/me/products"),
        (
            lambda: core.account_usage(
                {"from": "2024-01-01", "page": 2, "detailed": True, "raw": False}
            ),
            f"{BASE}/v1/api/me/usage?from=2024-01-01&page=2&detailed=true&raw=false",
        ),
        (
            lambda: core.account_verifications({"q": "a b&c"}),
            f"{BASE}/v1/api/me/verifications?q=a+b%26c",
        ),
        (
            lambda: core.stuck_plus_sessions({"limit": 10}),
            f"{BASE}/v1/api/me/stuck-plus/sessions?limit=10",
        ),
        (
            lambda: core.stuck_plus_reveals({"since": -1}),
            f"{BASE}/v1/api/me/stuck-plus/reveals?since=-1",
        ),
        (lambda: core.stuck_plus_overview(None), f"{BASE}/v1/api/me/stuck-plus/overview"),
        (
            lambda: core.account_balance_history({"all": True}),
            f"{BASE}/v1/api/me/balance-history?all=true",
        ),
    ],
)
def test_urls(call: Any, url: str, full_credentials: Credentials) -> None:
    assert call().build(full_credentials).url == url


@pytest.mark.parametrize(
    "params",
    [{"a": 1.5}, {"a": None}, {"a": [1]}, {"a": b"x"}, {1: "x"}, "a=1", [("a", "1")]],
    ids=["float", "none", "list", "bytes", "int-key", "str", "list-of-pairs"],
)
def test_wrong_query_params_are_rejected(params: Any) -> None:
    with pytest.raises(RequestValidationError, match="params"):
        core.account_usage(params)


def test_query_param_error_names_the_key_and_type() -> None:
    with pytest.raises(RequestValidationError) as info:
        core.account_usage({"page": 1.5})
    assert str(info.value) == (
        "params['page'] must be a str, an int (at most 10**18 in size) or a bool, not float"
    )


@pytest.mark.parametrize("value", [1, "true", None, 0])
def test_mask_mobile_must_be_a_bool(value: object) -> None:
    with pytest.raises(RequestValidationError, match="mask_mobile must be True or False"):
        core.verify(NUMBER, "proof", mask_mobile=value)  # type: ignore[arg-type]


def test_custom_base_url_is_prefixed(api_credentials: Credentials) -> None:
    config = core.ClientConfig(base_url="https://proxy.example.com/authmatech/")
    request = core.account_products().build(api_credentials, config)
    assert request.url == "https://proxy.example.com/authmatech/v1/api/me/products"


# --- headers --------------------------------------------------------------------------------


def test_get_headers_exactly(api_credentials: Credentials) -> None:
    request = core.account_products().build(api_credentials)
    assert request.method == "GET"
    assert request.body is None
    assert request.reveal_headers() == {
        "Accept": "application/json",
        "User-Agent": UA,
        "X-CLIENT-ID": CLIENT_ID,
        "X-API-KEY": API_KEY,
    }


def test_post_headers_exactly(api_credentials: Credentials) -> None:
    request = core.verify(NUMBER, "proof").build(api_credentials)
    assert request.method == "POST"
    assert request.reveal_headers() == {
        "Accept": "application/json",
        "User-Agent": UA,
        "Content-Type": "application/json",
        "X-CLIENT-ID": CLIENT_ID,
        "X-API-KEY": API_KEY,
    }


def test_sdk_session_headers_exactly(full_credentials: Credentials) -> None:
    request = core.register_sdk_session().build(full_credentials)
    assert request.reveal_headers() == {
        "Accept": "application/json",
        "User-Agent": UA,
        "Content-Type": "application/json",
        "X-CLIENT-ID": CLIENT_ID,
        "X-SDK-TOKEN": SDK_TOKEN,
    }


@pytest.mark.parametrize("name", list(CALLS))
def test_content_type_only_with_a_body(name: str, full_credentials: Credentials) -> None:
    request = CALLS[name]().build(full_credentials)
    has_body = request.body is not None
    assert has_body is (request.method == "POST")
    assert ("Content-Type" in request.headers) is has_body
    if has_body:
        assert request.body is not None
        assert isinstance(json.loads(request.body), dict)


def test_user_agent_format() -> None:
    assert core.ClientConfig().user_agent == UA
    assert UA.startswith("authmatech-python/0.1.0 python/3.")
    config = core.ClientConfig(app_info=" my-app/1.2 ")
    assert config.app_info == "my-app/1.2"
    assert config.user_agent == f"{UA} my-app/1.2"
    creds = Credentials(CLIENT_ID, api_key=API_KEY)
    assert core.account_products().build(creds, config).headers["User-Agent"] == f"{UA} my-app/1.2"


@pytest.mark.parametrize("app_info", ["", "   ", "x" * 201, "my-app\n1.2", "tab\there", 12, b"app"])
def test_bad_app_info(app_info: object) -> None:
    with pytest.raises(ConfigurationError, match="app_info must be a short printable str"):
        core.ClientConfig(app_info=app_info)  # type: ignore[arg-type]


def test_base_headers_are_fresh_copies() -> None:
    config = core.ClientConfig()
    first = config.base_headers(True)
    first["X-Extra"] = "1"
    assert "X-Extra" not in config.base_headers(True)
    assert config.base_headers(False) == {"Accept": "application/json", "User-Agent": UA}


# --- bodies ---------------------------------------------------------------------------------


def body_of(call: core.Call[Any], creds: Credentials) -> Any:
    request = call.build(creds)
    assert request.reveal_body() is not None
    return json.loads(request.reveal_body())  # type: ignore[arg-type]


def test_verify_body_with_every_optional_field(api_credentials: Credentials) -> None:
    call = core.verify(
        NUMBER,
        "BASE64_ENCRYPTED_BLOB_FROM_SDK",
        operator_id="ZAIN_JO",
        service_type=models.ServiceType.LOGIN,
        sdk_session_id="b1f2c3d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        mask_mobile=True,
    )
    request = call.build(api_credentials)
    assert request.body == (
        b'{"mobileNumber":"+962791234567","encryptedMobileNumber":"BASE64_ENCRYPTED_BLOB_FROM_SDK",'
        b'"operatorId":"ZAIN_JO","serviceType":"LOGIN",'
        b'"sdkSessionId":"b1f2c3d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d"}'
    )
    assert request.url.endswith("?maskMobile=true")


def test_verify_body_omits_none_fields(api_credentials: Credentials) -> None:
    assert body_of(core.verify(NUMBER, "proof"), api_credentials) == {
        "mobileNumber": NUMBER,
        "encryptedMobileNumber": "proof",
    }
    assert body_of(core.verify(NUMBER, "proof", operator_id="1"), api_credentials) == {
        "mobileNumber": NUMBER,
        "encryptedMobileNumber": "proof",
        "operatorId": "1",
    }


def test_verify_passes_the_proof_through_unchanged(api_credentials: Credentials) -> None:
    proof = "c%2BEx/abc==\u00e9"
    assert body_of(core.verify(NUMBER, proof), api_credentials)["encryptedMobileNumber"] == proof


def test_verify_web_body(api_credentials: Credentials) -> None:
    assert body_of(core.verify_web("tx-1", NUMBER), api_credentials) == {"mobileNumber": NUMBER}
    assert body_of(
        core.verify_web("tx-1", NUMBER, service_type="TRANSACTION"), api_credentials
    ) == {"mobileNumber": NUMBER, "serviceType": "TRANSACTION"}


CONTRACT_SIGNALS = {
    "mobileNumber": "+962791234567",
    "metadataId": "order-9921",
    "sessionId": "sess-abc123",
    "sdkSessionId": "b1f2c3d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
    "device": {
        "platform": "android",
        "osVersion": "14",
        "model": "Pixel 8",
        "appVersion": "3.2.1",
        "sdkVersion": "1.1.0",
        "isRooted": False,
        "isEmulator": False,
        "vpnDetected": False,
        "proxyDetected": False,
        "appIntegrityStatus": "PASS",
        "deviceId": "device-hash-1",
    },
    "network": {
        "ipAddress": "5.10.20.30",
        "countryCode": "JO",
        "operator": "ZAIN_JO",
        "connectionType": "cellular",
    },
}


@pytest.mark.parametrize("builder", [core.trust_score, core.shield_assess, core.detect_analyze])
def test_signals_model_becomes_the_contract_payload(
    builder: Any, api_credentials: Credentials
) -> None:
    assert body_of(builder(SIGNALS), api_credentials) == CONTRACT_SIGNALS


@pytest.mark.parametrize("builder", [core.trust_score, core.shield_assess, core.detect_analyze])
def test_signals_as_a_camel_case_dict(builder: Any, api_credentials: Credentials) -> None:
    from_dict = builder(CONTRACT_SIGNALS).build(api_credentials)
    from_model = builder(SIGNALS).build(api_credentials)
    assert from_dict.body == from_model.body
    assert json.loads(from_dict.body) == CONTRACT_SIGNALS


def test_detect_extra_top_level_fields(api_credentials: Credentials) -> None:
    signals = models.Signals(mobile_number=NUMBER, operator="ZAIN_JO", country_code="JO")
    assert body_of(core.detect_analyze(signals), api_credentials) == {
        "mobileNumber": NUMBER,
        "operator": "ZAIN_JO",
        "countryCode": "JO",
    }


def test_minimal_signals_dict(api_credentials: Credentials) -> None:
    body = body_of(core.trust_score({"mobileNumber": NUMBER, "device": {}}), api_credentials)
    assert body == {"mobileNumber": NUMBER, "device": {}}


@pytest.mark.parametrize(
    ("signals", "fragment"),
    [
        ({"mobile_number": NUMBER}, "unknown key 'mobile_number' (the key is 'mobileNumber')"),
        ({}, "signals needs 'mobileNumber'"),
        ({"mobileNumber": 962791234567}, "expected str @ $.mobileNumber"),
        ({"mobileNumber": NUMBER, "device": "android"}, "wrong type"),
        ({"mobileNumber": NUMBER, "device": {"isRooted": "no"}}, "$.device.isRooted"),
        ({"mobileNumber": NUMBER, "device": {"is_rooted": True}}, "(the key is 'isRooted')"),
        ({"mobileNumber": NUMBER, "riskHint": 1}, "unknown key 'riskHint'"),
        ({"mobileNumber": "0791234567"}, "signals['mobileNumber'] must be in E.164 format"),
        ([("mobileNumber", NUMBER)], "signals must be a mapping with camelCase keys"),
        ("x", "or authmatech.Signals(mobile_number=..., ...), not str"),
        (None, "not NoneType"),
        (models.Signals(mobile_number="+971 50 123 4567"), "signals.mobile_number"),
    ],
)
def test_bad_signals(signals: Any, fragment: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        core.shield_assess(signals)
    assert fragment in str(info.value)


def test_register_sdk_session_body(full_credentials: Credentials) -> None:
    call = core.register_sdk_session(
        sdk_session_id="s-1",
        mno_id="ZAIN_JO",
        authmatech_code_present=False,
        authmatech_code_hash="h" * 64,
        device_context=models.DeviceContext(
            device_id_hash="d1", platform="ios", os_version="17.2", user_agent="UA/1"
        ),
    )
    assert body_of(call, full_credentials) == {
        "sdkSessionId": "s-1",
        "mnoId": "ZAIN_JO",
        "authmatechCodePresent": False,
        "authmatechCodeHash": "h" * 64,
        "deviceContext": {
            "deviceIdHash": "d1",
            "platform": "ios",
            "osVersion": "17.2",
            "userAgent": "UA/1",
        },
    }
    assert body_of(core.register_sdk_session(), full_credentials) == {}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"authmatech_code_present": "yes"}, "authmatech_code_present must be True or False"),
        ({"device_context": {"platform": "ios"}}, "device_context must be a DeviceContext"),
        ({"mno_id": ""}, "mno_id must not be empty"),
        ({"sdk_session_id": "x" * 257}, "sdk_session_id is 257 characters long"),
    ],
)
def test_bad_sdk_session_arguments(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(RequestValidationError, match=fragment):
        core.register_sdk_session(**kwargs)


def test_rotation_bodies_hold_only_the_secret(full_credentials: Credentials) -> None:
    for call in (core.rotate_api_key(), core.rotate_client_key(), core.generate_api_key()):
        assert call.build(full_credentials).reveal_body() == b'{"secretKey":"cs_9z8y7x6w5v"}'


def test_stuck_plus_bodies(api_credentials: Credentials) -> None:
    assert core.stuck_plus_reveal("s").build(api_credentials).body == b"{}"
    assert core.stuck_plus_reset("s").build(api_credentials).body == b"{}"
    assert core.stuck_plus_journey("s").build(api_credentials).body is None
    assert core.stuck_plus_backfill().build(api_credentials).body == b"{}"
    backfill = core.stuck_plus_backfill({"from": "2024-01-01", "dryRun": True})
    assert body_of(backfill, api_credentials) == {"from": "2024-01-01", "dryRun": True}


def test_backfill_body_must_be_a_mapping() -> None:
    with pytest.raises(RequestValidationError, match="body must be a mapping with str keys"):
        core.stuck_plus_backfill(["x"])  # type: ignore[arg-type]


def test_connect_start_import_body(api_credentials: Credentials) -> None:
    call = core.connect_start_import("job-1", {"Phone": "mobileNumber", "Name": "name"})
    assert body_of(call, api_credentials) == {
        "jobId": "job-1",
        "fieldMappings": {"Phone": "mobileNumber", "Name": "name"},
    }


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("", {}), "job_id must not be empty"),
        (("j", "Phone=mobileNumber"), "field_mappings must be a mapping"),
        (("j", {1: "x"}), "field_mappings must be a mapping with str keys"),
        (("x" * 257, {}), "job_id is 257 characters long"),
    ],
)
def test_bad_connect_start_import(args: tuple[Any, Any], fragment: str) -> None:
    with pytest.raises(RequestValidationError, match=fragment):
        core.connect_start_import(*args)


def test_connect_create_integration_body(api_credentials: Credentials) -> None:
    integration = models.ConnectIntegration(
        display_name="My CRM",
        integration_type="WEBHOOK",
        endpoint_url="https://crm.example.com/hook",
        http_method="POST",
        api_key=Secret("crm-key-1"),
        trigger_event="VERIFIED",
        field_mappings={"phone": "mobileNumber"},
        batch_size=50,
        matched_only=False,
    )
    assert body_of(core.connect_create_integration(integration), api_credentials) == {
        "displayName": "My CRM",
        "integrationType": "WEBHOOK",
        "endpointUrl": "https://crm.example.com/hook",
        "httpMethod": "POST",
        "apiKey": "crm-key-1",
        "triggerEvent": "VERIFIED",
        "fieldMappings": {"phone": "mobileNumber"},
        "batchSize": 50,
        "matchedOnly": False,
    }
    assert "crm-key-1" not in repr(integration)
    request = core.connect_create_integration(integration).build(api_credentials)
    assert request.body is not None
    assert b"crm-key-1" not in request.body
    assert json.loads(request.body)["apiKey"] == Secret("crm-key-1").fingerprint
    assert Secret("crm-key-1") in request.secrets


@pytest.mark.parametrize(
    ("integration", "fragment"),
    [
        ({"display_name": "x"}, "integration must be a ConnectIntegration"),
        (
            models.ConnectIntegration(display_name="", integration_type="W"),
            "integration.display_name must not be empty",
        ),
        (
            models.ConnectIntegration(display_name="x" * 101, integration_type="W"),
            "integration.display_name is 101 characters long; the limit is 100",
        ),
        (
            models.ConnectIntegration(display_name="d", integration_type=" "),
            "integration.integration_type must not be empty",
        ),
        (
            models.ConnectIntegration(display_name="d", integration_type="W", batch_size=0),
            "integration.batch_size must be an int from 1 to 10,000",
        ),
        (
            models.ConnectIntegration(display_name="d", integration_type="W", batch_size=True),
            "integration.batch_size must be an int from 1 to 10,000",
        ),
        (
            models.ConnectIntegration(display_name="d", integration_type="W", batch_size=2**31),
            "integration.batch_size must be an int from 1 to 10,000",
        ),
    ],
)
def test_bad_connect_integration(integration: Any, fragment: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        core.connect_create_integration(integration)
    assert fragment in str(info.value)


def test_body_is_compact_utf8_json(api_credentials: Credentials) -> None:
    request = core.verify(NUMBER, "d\u00e9j\u00e0").build(api_credentials)
    assert request.body is not None
    assert "déjà".encode() in request.body
    assert b": " not in request.body
    assert b", " not in request.body


def _contains_itself() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["again"] = loop
    return loop


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (math.nan, "NaN and infinite numbers are not JSON"),
        (math.inf, "NaN and infinite numbers are not JSON"),
        (object(), "a object is not JSON"),
        (b"bytes", "a bytes is not JSON"),
        ("\ud800", "lone surrogate"),
        (_contains_itself(), "nested too deeply, or contains itself"),
    ],
)
def test_unencodable_bodies_are_refused_naming_the_argument(value: Any, fragment: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        core.stuck_plus_backfill({"field": value})
    assert "body:" in str(info.value)
    assert fragment in str(info.value)


# --- ClientConfig.base_url ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://service.authmatech.com", BASE),
        ("https://service.authmatech.com/", BASE),
        ("https://service.authmatech.com///", BASE),
        ("  https://service.authmatech.com/\n", BASE),
        ("HTTPS://service.authmatech.com", "HTTPS://service.authmatech.com"),
        ("https://api.example.com:8443/prefix/", "https://api.example.com:8443/prefix"),
        ("http://localhost", "http://localhost"),
        ("http://localhost:8080/", "http://localhost:8080"),
        ("http://sandbox.localhost:1", "http://sandbox.localhost:1"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("http://127.9.8.7", "http://127.9.8.7"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://[2001:db8::1]", "https://[2001:db8::1]"),
    ],
)
def test_valid_base_urls(given: str, stored: str) -> None:
    assert core.ClientConfig(base_url=given).base_url == stored


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("http://service.authmatech.com", "must use https://"),
        ("http://10.0.0.1", "must use https://"),
        ("http://0.0.0.0", "must use https://"),
        ("http://localhost.evil.com", "must use https://"),
        ("https://user:hunter2@service.authmatech.com", "must not carry user info"),
        ("https://user@service.authmatech.com", "must not carry user info"),
        ("https://service.authmatech.com?x=1", "must not have a query string or fragment"),
        ("https://service.authmatech.com/#top", "must not have a query string or fragment"),
        ("ftp://service.authmatech.com", "https:// URL with a host"),
        ("ws://localhost", "https:// URL with a host"),
        ("file:///etc/passwd", "https:// URL with a host"),
        ("service.authmatech.com", "https:// URL with a host"),
        ("https://", "https:// URL with a host"),
        ("https:///path", "https:// URL with a host"),
        ("https://service.authmatech.com:99999", "is not a valid URL"),
        ("https://service.authmatech.com:port", "is not a valid URL"),
        ("", "must be a non-empty str"),
        ("   ", "must be a non-empty str"),
        (None, "must be a non-empty str"),
        (443, "must be a non-empty str"),
    ],
)
def test_invalid_base_urls(given: Any, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        core.ClientConfig(base_url=given)
    assert fragment in str(info.value)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    "given", ["https://service.authmatech.com?", "https://service.authmatech.com#"]
)
def test_base_url_with_an_empty_query_or_fragment_marker_is_rejected(given: str) -> None:
    # An empty '?' or '#' slips past the query/fragment check: the request path is then appended
    # after it ("https://service.authmatech.com#/v1/api/verify"), so HTTP clients send every
    # call to "/" (the path lands in the fragment, or in the query string).
    with pytest.raises(ConfigurationError, match="query string or fragment"):
        core.ClientConfig(base_url=given)


# --- HttpRequest / HttpResponse -------------------------------------------------------------


def test_http_request_repr_masks_credentials_and_hides_the_body(
    full_credentials: Credentials,
) -> None:
    api = core.verify(NUMBER, "proof").build(full_credentials)
    sdk = core.register_sdk_session(sdk_session_id="s").build(full_credentials)
    text = repr(api)
    assert text == (
        f"HttpRequest(method='POST', url='{BASE}/v1/api/verify', headers={{"
        f"'Accept': 'application/json', 'User-Agent': '{UA}', "
        "'Content-Type': 'application/json', 'X-CLIENT-ID': 'client-123', "
        f"'X-API-KEY': '<masked {Secret(API_KEY).fingerprint}>'}}, "
        f"body=<{len(api.body or b'')} bytes>)"
    )
    assert API_KEY not in text
    assert NUMBER not in text
    assert f"'X-SDK-TOKEN': '<masked {Secret(SDK_TOKEN).fingerprint}>'" in repr(sdk)
    assert SDK_TOKEN not in repr(sdk)
    get = core.account_products().build(full_credentials)
    assert repr(get).endswith("body=None)")
    assert str(api) == repr(api)


def test_http_response_lower_cases_header_names() -> None:
    response = core.HttpResponse(200, {"X-Request-Id": "r1", "Retry-After": "3"}, b"{}")
    assert response.headers == {"x-request-id": "r1", "retry-after": "3"}
    assert repr(response) == "HttpResponse(status_code=200, body=<2 bytes>)"
    assert core.HttpResponse(204).headers == {}
    assert core.HttpResponse(204).body == b""


def test_a_received_response_equals_one_built_through_the_constructor() -> None:
    """Transports build responses without the converter; the value must not differ."""
    from authmatech.core._http import received

    headers = {"x-request-id": "r1", "content-type": "application/json"}
    fast = received(200, headers, b"{}")
    assert fast == core.HttpResponse(200, headers, b"{}")
    assert repr(fast) == "HttpResponse(status_code=200, body=<2 bytes>)"
    with pytest.raises(AttributeError):
        fast.status_code = 500  # type: ignore[misc]


@pytest.mark.parametrize(
    ("headers", "masked"),
    [
        ({"X-API-KEY": "k", "Accept": "a"}, {"X-API-KEY": "<masked>", "Accept": "a"}),
        ({"x-sdk-token": "t"}, {"x-sdk-token": "<masked>"}),
        (
            {"Authorization": "Bearer t", "Cookie": "c"},
            {"Authorization": "<masked>", "Cookie": "<masked>"},
        ),
        ({"X-Client-Id": "cid"}, {"X-Client-Id": "cid"}),
        ({}, {}),
    ],
)
def test_mask_headers(headers: dict[str, str], masked: dict[str, str]) -> None:
    assert core.mask_headers(headers) == masked


# --- Timeout --------------------------------------------------------------------------------


def test_timeout_defaults_are_finite() -> None:
    timeout = core.Timeout()
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool, timeout.total) == (
        5.0,
        15.0,
        15.0,
        5.0,
        60.0,
    )


@pytest.mark.parametrize(
    ("seconds", "total"), [(3.0, 60.0), (60.0, 60.0), (120.0, 120.0), (0.5, 60.0)]
)
def test_timeout_of(seconds: float, total: float) -> None:
    timeout = core.Timeout.of(seconds)
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (seconds,) * 4
    assert timeout.total == total


@pytest.mark.parametrize("value", [0, -1, -0.5, "5", True, math.nan, [1]])
@pytest.mark.parametrize("phase", ["connect", "read", "write", "pool", "total"])
def test_timeout_validation(phase: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=f"timeout {phase} must be a"):
        core.Timeout(**{phase: value})  # type: ignore[arg-type]


def test_timeout_capped() -> None:
    timeout = core.Timeout(connect=5, read=15, write=10, pool=2, total=60)
    assert timeout.capped(15) is timeout
    assert timeout.capped(100) is timeout
    assert timeout.capped(8) == core.Timeout(connect=5, read=8, write=8, pool=2, total=60)
    assert timeout.capped(1) == core.Timeout(connect=1, read=1, write=1, pool=1, total=60)
    assert timeout.capped(0) == core.Timeout(
        connect=0.001, read=0.001, write=0.001, pool=0.001, total=60
    )
    assert timeout.capped(-3) == timeout.capped(0)


@pytest.mark.parametrize("phase", ["connect", "read", "write", "pool", "total"])
def test_timeout_phases_refuse_none_and_infinity(phase: str) -> None:
    for value in (None, float("inf"), float("nan")):
        with pytest.raises(ConfigurationError, match=f"timeout {phase} must be"):
            core.Timeout(**{phase: value})


def test_timeout_until_hands_the_remaining_deadline_to_the_transport() -> None:
    base = core.Timeout(connect=2, read=8, write=3, pool=1, total=60)
    attempt = base.until(4.5)
    assert (attempt.connect, attempt.read, attempt.write, attempt.pool) == (2, 8, 3, 1)
    assert attempt.total == 4.5
    assert base.until(-3).total == 0.001
    assert attempt == core.Timeout(connect=2, read=8, write=3, pool=1, total=4.5)


def test_oversized_bodies_and_params_are_refused_before_sending() -> None:
    with pytest.raises(RequestValidationError, match="the request body would be"):
        core.stuck_plus_backfill({"blob": "x" * (2 * 1024 * 1024)})
    with pytest.raises(RequestValidationError, match="character key"):
        core.account_usage({"k" * 5000: "v"})
    with pytest.raises(RequestValidationError, match=r"params\['k'\] is"):
        core.account_usage({"k": "v" * 5000})
