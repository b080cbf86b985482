"""Trust, Shield and Detect: the documented rules, enums and prefixes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_helpers import NUMBER, OTHER_NUMBER, FakeClock, call, data, failure, sdk_auth, verify

from authmatech.sandbox import Sandbox, SandboxAccount

TRUST = "/v1/api/trust/score"
SHIELD = "/v1/api/shield/assess"
DETECT = "/v1/api/detect/analyze"


def signals(number: str = NUMBER, **device: object) -> dict[str, Any]:
    """The guide's example payload: a clean Android phone on Zain Jordan over cellular."""
    network = {
        "ipAddress": "5.10.20.30",
        "countryCode": device.pop("countryCode", "JO"),
        "operator": device.pop("operator", "ZAIN_JO"),
        "connectionType": device.pop("connectionType", "cellular"),
    }
    return {
        "mobileNumber": number,
        "metadataId": "order-9921",
        "sessionId": "sess-abc123",
        "device": {
            "platform": "android", "osVersion": "14", "model": "Pixel 8", "appVersion": "3.2.1",
            "sdkVersion": "1.1.0", "isRooted": False, "isEmulator": False, "vpnDetected": False,
            "proxyDetected": False, "appIntegrityStatus": "PASS", "deviceId": "device-hash-1",
            **device,
        },
        "network": network,
    }  # fmt: skip


def post(sb: Sandbox, account: SandboxAccount, path: str, body: object) -> Any:
    return data(call(sb, "POST", path, account=account, json_body=body))


def test_clean_cellular_device_at_home_is_allowed(sb: Sandbox, account: SandboxAccount):
    trust = post(sb, account, TRUST, signals())
    assert re.fullmatch(r"TR-[0-9a-f-]{36}", trust.pop("transactionId"))
    assert trust == {
        "trustScore": 100,
        "confidence": "HIGH",
        "recommendation": "ALLOW",
        "positiveFactors": ["network_stable", "device_clean"],
        "riskFactors": [],
        "breakdown": {"network_score": 100, "device_score": 100, "behaviour_score": 100},
        "metadataId": "order-9921",
    }
    shield = post(sb, account, SHIELD, signals())
    assert shield.pop("transactionId").startswith("SH-")
    assert shield == {
        "decision": "ALLOW",
        "riskScore": 0,
        "riskLevel": "LOW",
        "reasonCodes": [],
        "sdkVerified": False,
        "deviceConsistencyLevel": "UNKNOWN",
        "operatorConsistencyLevel": "UNKNOWN",
        "metadataId": "order-9921",
    }
    detect = post(sb, account, DETECT, signals())
    assert detect.pop("transactionId").startswith("DE-")
    assert detect == {
        "anomalies": [],
        "recommendedAction": "ALLOW",
        "riskLevel": "LOW",
        "anomalyScore": 0,
        "affectedCount": 0,
        "windowStats": {
            "windowSeconds": 60,
            "evaluationsForNumber": 3,
            "distinctNumbersForDevice": 1,
            "failedVerificationsForNumber": 0,
        },
        "metadataId": "order-9921",
    }
    assert sb.balance(account.client_id) == 10_000 - 3


def test_rooted_emulator_on_a_proxy_is_blocked(sb: Sandbox, account: SandboxAccount):
    bad = signals(isRooted=True, isEmulator=True, proxyDetected=True)
    trust = post(sb, account, TRUST, bad)
    assert (trust["trustScore"], trust["recommendation"]) == (20, "BLOCK")
    assert trust["riskFactors"] == ["device_rooted", "emulator_detected", "proxy_detected"]
    assert trust["breakdown"] == {"network_score": 80, "device_score": 40, "behaviour_score": 100}
    assert trust["positiveFactors"] == []  # first sight of the device, and it is not clean
    shield = post(sb, account, SHIELD, bad)
    assert (shield["decision"], shield["riskScore"], shield["riskLevel"]) == (
        "BLOCK", 80, "CRITICAL",
    )  # fmt: skip
    assert shield["reasonCodes"] == ["DEVICE_ROOTED", "EMULATOR_DETECTED", "PROXY_DETECTED"]
    detect = post(sb, account, DETECT, bad)
    assert [a["type"] for a in detect["anomalies"]] == ["NETWORK_ANOMALY", "DEVICE_TAMPERING"]
    assert (detect["anomalyScore"], detect["riskLevel"], detect["recommendedAction"]) == (
        50, "HIGH", "CHALLENGE",
    )  # fmt: skip
    for anomaly in detect["anomalies"]:
        assert set(anomaly) == {"type", "severity", "description"}


@pytest.mark.parametrize(
    ("changes", "risk", "level", "decision", "factor"),
    [
        ({"vpnDetected": True}, 15, "LOW", "ALLOW", "vpn_detected"),
        ({"isRooted": True}, 30, "MEDIUM", "CHALLENGE", "device_rooted"),
        ({"appIntegrityStatus": "FAIL"}, 25, "MEDIUM", "CHALLENGE", "app_integrity_failed"),
        ({"countryCode": "AE"}, 15, "LOW", "ALLOW", "country_mismatch"),
        ({"connectionType": "wifi"}, 5, "LOW", "ALLOW", "non_cellular_connection"),
        ({"isRooted": True, "isEmulator": True}, 60, "HIGH", "REVIEW", "emulator_detected"),
        (
            {"isRooted": True, "isEmulator": True, "proxyDetected": True, "vpnDetected": True,
             "appIntegrityStatus": "FAIL"},
            100, "CRITICAL", "BLOCK", "app_integrity_failed",
        ),
    ],
)  # fmt: skip
def test_risk_points_and_bands(
    sb: Sandbox,
    account: SandboxAccount,
    changes: dict[str, object],
    risk: int,
    level: str,
    decision: str,
    factor: str,
):
    shield = post(sb, account, SHIELD, signals(**changes))
    assert (shield["riskScore"], shield["riskLevel"], shield["decision"]) == (risk, level, decision)
    assert factor.upper() in shield["reasonCodes"]
    trust = post(sb, account, TRUST, signals(**changes))
    assert trust["trustScore"] == 100 - risk
    assert trust["recommendation"] == decision
    assert factor in trust["riskFactors"]


def test_trust_confidence_follows_the_signals_sent(sb: Sandbox, account: SandboxAccount):
    full = signals()
    assert post(sb, account, TRUST, full)["confidence"] == "HIGH"
    assert post(sb, account, TRUST, {**full, "network": None})["confidence"] == "MEDIUM"
    assert post(sb, account, TRUST, {"mobileNumber": NUMBER})["confidence"] == "LOW"


def test_velocity_spike_after_five_evaluations_a_minute(
    sb: Sandbox, account: SandboxAccount, clock: FakeClock
):
    for _ in range(5):
        assert "velocity_spike" not in post(sb, account, TRUST, signals())["riskFactors"]
        clock.advance(1)
    assert "velocity_spike" in post(sb, account, TRUST, signals())["riskFactors"]
    assert "VELOCITY_SPIKE" in [
        a["type"] for a in post(sb, account, DETECT, signals())["anomalies"]
    ]
    assert "velocity_spike" not in post(sb, account, TRUST, signals(OTHER_NUMBER))["riskFactors"]
    clock.advance(61)
    assert "velocity_spike" not in post(sb, account, TRUST, signals())["riskFactors"]


def _register(sb: Sandbox, account: SandboxAccount, session_id: str, device: str, mno: str) -> None:
    body = {"sdkSessionId": session_id, "mnoId": mno, "deviceContext": {"deviceIdHash": device}}
    call(sb, "POST", "/v1/api/sdk/session", headers=sdk_auth(account), json_body=body)


def test_shield_uses_the_registered_sdk_session(sb: Sandbox, account: SandboxAccount):
    _register(sb, account, "sess-1", "device-hash-1", "ZAIN_JO")
    same = post(sb, account, SHIELD, {**signals(), "sdkSessionId": "sess-1"})
    assert same["sdkVerified"] is True
    assert same["deviceConsistencyLevel"] == "STABLE"
    assert same["operatorConsistencyLevel"] == "STABLE"
    assert same["decision"] == "ALLOW"
    moved = post(
        sb, account, SHIELD,
        {**signals(deviceId="device-hash-2", operator="ORANGE_JO"), "sdkSessionId": "sess-1"},
    )  # fmt: skip
    assert moved["deviceConsistencyLevel"] == "INCONSISTENT"
    assert moved["operatorConsistencyLevel"] == "CHANGED"
    assert moved["reasonCodes"] == ["DEVICE_INCONSISTENT", "OPERATOR_CHANGED"]
    assert (moved["riskScore"], moved["decision"]) == (35, "CHALLENGE")
    trust = post(sb, account, TRUST, {**signals(), "sdkSessionId": "sess-1"})
    assert "sdk_session_verified" in trust["positiveFactors"]
    assert "device_known" in trust["positiveFactors"]


def test_unknown_or_foreign_sdk_session_is_not_verified(sb: Sandbox, account: SandboxAccount):
    other = sb.create_account()
    _register(sb, other, "sess-foreign", "device-hash-1", "ZAIN_JO")
    for session_id in ("sess-missing", "sess-foreign"):
        shield = post(sb, account, SHIELD, {**signals(), "sdkSessionId": session_id})
        assert shield["sdkVerified"] is False
        assert shield["deviceConsistencyLevel"] == "UNKNOWN"
        assert shield["reasonCodes"] == ["SDK_SESSION_NOT_FOUND"]
        assert shield["riskScore"] == 10


def test_detect_multi_account_and_operator_change(sb: Sandbox, account: SandboxAccount):
    post(sb, account, DETECT, signals(NUMBER))
    found = post(sb, account, DETECT, signals(OTHER_NUMBER))
    assert [a["type"] for a in found["anomalies"]] == ["MULTI_ACCOUNT"]
    assert found["affectedCount"] == 1
    assert found["windowStats"]["distinctNumbersForDevice"] == 2
    assert (found["anomalyScore"], found["riskLevel"], found["recommendedAction"]) == (
        25, "MEDIUM", "MONITOR",
    )  # fmt: skip
    changed = post(
        sb, account, DETECT, signals(NUMBER, deviceId="device-hash-9", operator="ORANGE_JO")
    )
    assert [a["type"] for a in changed["anomalies"]] == ["OPERATOR_CHANGE"]
    other_account = sb.create_account()
    assert post(sb, other_account, DETECT, signals(OTHER_NUMBER))["anomalies"] == []


def test_detect_top_level_country_and_operator_win(sb: Sandbox, account: SandboxAccount):
    body = {**signals(), "countryCode": "SA", "operator": "ZAIN_JO"}
    assert [a["type"] for a in post(sb, account, DETECT, body)["anomalies"]] == ["GEO_SHIFT"]


def test_detect_repeated_failures(sb: Sandbox, account: SandboxAccount):
    for _ in range(3):
        verify(sb, account, NUMBER, "unknown-proof")
    found = post(sb, account, DETECT, signals())
    assert [a["type"] for a in found["anomalies"]] == ["REPEATED_FAILURES"]
    assert found["windowStats"]["failedVerificationsForNumber"] == 3


def test_four_anomalies_are_critical(sb: Sandbox, account: SandboxAccount):
    for _ in range(3):
        verify(sb, account, NUMBER, "unknown-proof")
    body = signals(isRooted=True, vpnDetected=True, countryCode="EG")
    found = post(sb, account, DETECT, body)
    assert len(found["anomalies"]) == 4
    assert (found["anomalyScore"], found["riskLevel"], found["recommendedAction"]) == (
        100, "CRITICAL", "BLOCK",
    )  # fmt: skip


@pytest.mark.parametrize("path", [TRUST, SHIELD, DETECT])
@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, "mobileNumber is required."),
        ({"mobileNumber": "0791234567"}, 400, "Invalid mobile number."),
        ({"mobileNumber": NUMBER, "device": []}, 400, "device must be an object."),
        ({"mobileNumber": NUMBER, "device": {"isRooted": "no"}}, 400,
         "device.isRooted must be a boolean."),
        ({"mobileNumber": NUMBER, "network": {"countryCode": 962}}, 400,
         "network.countryCode must be a string."),
        ({"mobileNumber": NUMBER, "metadataId": 5}, 400, "metadataId must be a string."),
    ],
)  # fmt: skip
def test_signal_validation(
    sb: Sandbox, account: SandboxAccount, path: str, body: object, status: int, message: str
):
    assert (
        failure(call(sb, "POST", path, account=account, json_body=body), status)["message"]
        == message
    )
    assert sb.balance(account.client_id) == 10_000


def test_empty_balance_stops_intelligence_calls(sb: Sandbox):
    account = sb.create_account(balance=1)
    post(sb, account, SHIELD, signals())
    reply = call(sb, "POST", TRUST, account=account, json_body=signals())
    assert failure(reply, 400)["message"] == "Insufficient balance."


device_flags = st.fixed_dictionaries(
    {},
    optional={
        "isRooted": st.booleans(),
        "isEmulator": st.booleans(),
        "vpnDetected": st.booleans(),
        "proxyDetected": st.booleans(),
        "appIntegrityStatus": st.sampled_from(["PASS", "FAIL", "UNKNOWN"]),
        "deviceId": st.sampled_from(["d1", "d2"]),
    },
)
network_fields = st.fixed_dictionaries(
    {},
    optional={
        "countryCode": st.sampled_from(["JO", "AE", "SA"]),
        "operator": st.sampled_from(["ZAIN_JO", "ORANGE_JO"]),
        "connectionType": st.sampled_from(["cellular", "wifi"]),
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    device=device_flags,
    network=network_fields,
    number=st.sampled_from([NUMBER, "+971501234567", "+4915112345678"]),
)
def test_any_signals_give_documented_enums_and_agreeing_verdicts(
    device: dict[str, object], network: dict[str, object], number: str
):
    sb = Sandbox(clock=FakeClock(), seed=1)
    account = sb.create_account()
    body = {"mobileNumber": number, "device": device, "network": network}
    trust = post(sb, account, TRUST, body)
    shield = post(sb, account, SHIELD, body)
    detect = post(sb, account, DETECT, body)
    assert trust["confidence"] in {"HIGH", "MEDIUM", "LOW"}
    assert trust["recommendation"] == shield["decision"]
    assert trust["trustScore"] == 100 - shield["riskScore"]
    assert 0 <= shield["riskScore"] <= 100
    assert shield["decision"] in {"ALLOW", "CHALLENGE", "REVIEW", "BLOCK"}
    assert shield["riskLevel"] in {"LOW", "MEDIUM", "HIGH", "CRITICAL"}
    assert shield["deviceConsistencyLevel"] == "UNKNOWN"
    assert detect["recommendedAction"] in {"ALLOW", "MONITOR", "CHALLENGE", "BLOCK"}
    assert detect["anomalyScore"] == min(100, 25 * len(detect["anomalies"]))
    risky = any(
        device.get(flag) for flag in ("isRooted", "isEmulator", "vpnDetected", "proxyDetected")
    )
    if risky or device.get("appIntegrityStatus") in {"FAIL", "UNKNOWN"}:
        assert shield["riskScore"] >= 15
