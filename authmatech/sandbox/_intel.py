"""Trust, Shield and Detect: deterministic answers computed from the signals.

Risk points (Trust and Shield), capped at 100:

==========================================================  ======  ==========================
signal                                                      points  Trust factor / Shield code
==========================================================  ======  ==========================
``device.isRooted``                                          30     device_rooted
``device.isEmulator``                                        30     emulator_detected
``device.proxyDetected``                                     20     proxy_detected
``device.vpnDetected``                                       15     vpn_detected
``device.appIntegrityStatus`` sent and not ``PASS``          25     app_integrity_failed
``network.countryCode`` is not the number's country          15     country_mismatch
``network.connectionType`` sent and not ``cellular``          5     non_cellular_connection
more than 5 evaluations of the number in 60 s (this one in)  15     velocity_spike
``sdkSessionId`` sent but never registered by this account   10     sdk_session_not_found
live ``device.deviceId`` differs from the session's          20     device_inconsistent
live ``network.operator`` differs from the session's mnoId   15     operator_changed
==========================================================  ======  ==========================

Shield codes are the same names upper-cased. Bands: risk < 25 is LOW/ALLOW, < 50 MEDIUM/
CHALLENGE, < 75 HIGH/REVIEW, else CRITICAL/BLOCK. Trust: ``trustScore = 100 - risk`` and
``recommendation`` is Shield's decision for the same signals; ``confidence`` is HIGH with both
``device`` and ``network``, MEDIUM with one, LOW with neither. So a clean cellular device in the
number's country is ALLOW (score 100), and a rooted emulator on a proxy (80) is BLOCK.

Shield: ``sdkVerified`` when ``sdkSessionId`` was registered by this account;
``deviceConsistencyLevel`` STABLE/INCONSISTENT when both device ids are known, else UNKNOWN;
``operatorConsistencyLevel`` STABLE/CHANGED likewise for the operator.

Detect: each anomaly adds 25 to ``anomalyScore`` (cap 100); 0 is LOW/ALLOW, 25 MEDIUM/MONITOR,
50 HIGH/CHALLENGE, 75+ CRITICAL/BLOCK. Anomalies: MULTI_ACCOUNT (the device was seen with
another number; ``affectedCount`` = those numbers), VELOCITY_SPIKE (as above), GEO_SHIFT
(country is not the number's), NETWORK_ANOMALY (VPN or proxy), DEVICE_TAMPERING (rooted,
emulator or integrity failure), OPERATOR_CHANGE (operator differs from the last one seen for the
number), REPEATED_FAILURES (3+ negative Verify verdicts for the number).

Every evaluation is billed one credit, echoes ``metadataId`` and is remembered for the velocity,
multi-account and operator rules (per account, never across accounts).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ._call import Call, Ok
from ._products import DETECT, SHIELD, TRUST
from ._signals import Signals, country_of, parse_signals
from ._state import IntelRecord, SdkSession

__all__ = ["detect_analyze", "shield_assess", "trust_score"]

VELOCITY_WINDOW = 60.0
VELOCITY_LIMIT = 5
_LEVELS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
_DECISIONS = ("ALLOW", "CHALLENGE", "REVIEW", "BLOCK")
_DETECT_ACTIONS = ("ALLOW", "MONITOR", "CHALLENGE", "BLOCK")
_DEVICE, _NETWORK, _BEHAVIOUR = "device", "network", "behaviour"


def _band(score: int) -> int:
    return min(3, score // 25)


def _velocity(call: Call, signals: Signals) -> int:
    since = call.now - VELOCITY_WINDOW
    history = call.account.intel_history
    return 1 + sum(1 for r in history if r.mobile_number == signals.mobile_number and r.at > since)


def _session(call: Call, signals: Signals) -> SdkSession | None:
    if signals.sdk_session_id is None:
        return None
    return call.account.sdk_sessions.get(signals.sdk_session_id)


def _device_level(session: SdkSession | None, signals: Signals) -> str:
    """Shield's ``deviceConsistencyLevel``: the live device against the registered one."""
    if session is None or session.device_id_hash is None or signals.device_id is None:
        return "UNKNOWN"
    return "STABLE" if session.device_id_hash == signals.device_id else "INCONSISTENT"


def _operator_level(session: SdkSession | None, signals: Signals) -> str:
    """Shield's ``operatorConsistencyLevel``: the live operator against the session's."""
    if session is None or session.mno_id is None or signals.operator is None:
        return "UNKNOWN"
    return "STABLE" if session.mno_id == signals.operator else "CHANGED"


def _risk(call: Call, signals: Signals) -> list[tuple[str, int, str]]:
    """(factor, points, component) for each risk signal present."""
    session = _session(call, signals)
    home = country_of(signals.mobile_number)
    checks = [
        (signals.is_rooted, "device_rooted", 30, _DEVICE),
        (signals.is_emulator, "emulator_detected", 30, _DEVICE),
        (signals.proxy_detected, "proxy_detected", 20, _NETWORK),
        (signals.vpn_detected, "vpn_detected", 15, _NETWORK),
        (
            signals.app_integrity_status not in (None, "PASS"),
            "app_integrity_failed", 25, _DEVICE,
        ),
        (
            None not in (home, signals.country_code) and home != signals.country_code,
            "country_mismatch", 15, _NETWORK,
        ),
        (
            signals.connection_type not in (None, "cellular"),
            "non_cellular_connection", 5, _NETWORK,
        ),
        (_velocity(call, signals) > VELOCITY_LIMIT, "velocity_spike", 15, _BEHAVIOUR),
        (
            signals.sdk_session_id is not None and session is None,
            "sdk_session_not_found", 10, _BEHAVIOUR,
        ),
        (
            _device_level(session, signals) == "INCONSISTENT",
            "device_inconsistent", 20, _DEVICE,
        ),
        (
            _operator_level(session, signals) == "CHANGED",
            "operator_changed", 15, _NETWORK,
        ),
    ]  # fmt: skip
    return [(name, points, part) for hit, name, points, part in checks if hit]


def _remember(call: Call, signals: Signals) -> None:
    call.account.intel_history.append(
        IntelRecord(
            at=call.now,
            mobile_number=signals.mobile_number,
            device_id=signals.device_id,
            operator=signals.operator,
        )
    )


def trust_score(call: Call) -> Ok:
    """``POST /v1/api/trust/score``."""
    call.require_product(TRUST)
    signals = parse_signals(call.body())
    risks = _risk(call, signals)
    risk = min(100, sum(points for _, points, _ in risks))
    parts = {
        f"{part}_score": 100 - min(100, sum(p for _, p, c in risks if c == part))
        for part in (_NETWORK, _DEVICE, _BEHAVIOUR)
    }
    session = _session(call, signals)
    names = {name for name, _, _ in risks}
    positive = []
    if signals.connection_type == "cellular" and not names & {
        "country_mismatch", "vpn_detected", "proxy_detected"
    }:  # fmt: skip
        positive.append("network_stable")
    seen_devices = {
        r.device_id for r in call.account.intel_history if r.mobile_number == signals.mobile_number
    }
    if signals.device_id is not None and (
        signals.device_id in seen_devices
        or (session is not None and session.device_id_hash == signals.device_id)
    ):
        positive.append("device_known")
    if signals.has_device and not names & {
        "device_rooted", "emulator_detected", "app_integrity_failed"
    }:  # fmt: skip
        positive.append("device_clean")
    if session is not None:
        positive.append("sdk_session_verified")
    sent = int(signals.has_device) + int(signals.has_network)
    call.charge(TRUST)
    _remember(call, signals)
    return Ok(
        data={
            "transactionId": "TR-" + call.world.ids.uuid(),
            "trustScore": 100 - risk,
            "confidence": ("LOW", "MEDIUM", "HIGH")[sent],
            "recommendation": _DECISIONS[_band(risk)],
            "positiveFactors": positive,
            "riskFactors": [name for name, _, _ in risks],
            "breakdown": parts,
            "metadataId": signals.metadata_id,
        }
    )


def shield_assess(call: Call) -> Ok:
    """``POST /v1/api/shield/assess``."""
    call.require_product(SHIELD)
    signals = parse_signals(call.body())
    risks = _risk(call, signals)
    risk = min(100, sum(points for _, points, _ in risks))
    session = _session(call, signals)
    call.charge(SHIELD)
    _remember(call, signals)
    return Ok(
        data={
            "decision": _DECISIONS[_band(risk)],
            "riskScore": risk,
            "riskLevel": _LEVELS[_band(risk)],
            "reasonCodes": [name.upper() for name, _, _ in risks],
            "sdkVerified": session is not None,
            "deviceConsistencyLevel": _device_level(session, signals),
            "operatorConsistencyLevel": _operator_level(session, signals),
            "transactionId": "SH-" + call.world.ids.uuid(),
            "metadataId": signals.metadata_id,
        }
    )


_DESCRIPTIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "MULTI_ACCOUNT": ("HIGH", "The device was used with other mobile numbers."),
        "VELOCITY_SPIKE": (
            "MEDIUM",
            "Unusually many evaluations of this number in the last minute.",
        ),
        "GEO_SHIFT": ("MEDIUM", "The network country differs from the number's country."),
        "NETWORK_ANOMALY": ("MEDIUM", "The traffic came through a VPN or a proxy."),
        "DEVICE_TAMPERING": ("HIGH", "The device is rooted, an emulator, or failed app integrity."),
        "OPERATOR_CHANGE": ("LOW", "The operator differs from the one last seen for this number."),
        "REPEATED_FAILURES": ("MEDIUM", "Several verifications of this number failed."),
    }
)


def detect_analyze(call: Call) -> Ok:
    """``POST /v1/api/detect/analyze``."""
    call.require_product(DETECT)
    signals = parse_signals(call.body(), detect=True)
    account = call.account
    history = account.intel_history
    other_numbers = {
        r.mobile_number
        for r in history
        if signals.device_id is not None
        and r.device_id == signals.device_id
        and r.mobile_number != signals.mobile_number
    }
    previous_operator = next(
        (
            r.operator
            for r in reversed(history)
            if r.mobile_number == signals.mobile_number and r.operator is not None
        ),
        None,
    )
    home = country_of(signals.mobile_number)
    failures = account.failures_by_number.get(signals.mobile_number, 0)
    velocity = _velocity(call, signals)
    found = [
        (bool(other_numbers), "MULTI_ACCOUNT"),
        (velocity > VELOCITY_LIMIT, "VELOCITY_SPIKE"),
        (None not in (home, signals.country_code) and home != signals.country_code, "GEO_SHIFT"),
        (signals.vpn_detected or signals.proxy_detected, "NETWORK_ANOMALY"),
        (
            signals.is_rooted
            or signals.is_emulator
            or signals.app_integrity_status not in (None, "PASS"),
            "DEVICE_TAMPERING",
        ),
        (
            None not in (previous_operator, signals.operator)
            and previous_operator != signals.operator,
            "OPERATOR_CHANGE",
        ),
        (failures >= 3, "REPEATED_FAILURES"),
    ]
    anomalies = [
        {"type": kind, "severity": _DESCRIPTIONS[kind][0], "description": _DESCRIPTIONS[kind][1]}
        for hit, kind in found
        if hit
    ]
    score = min(100, 25 * len(anomalies))
    call.charge(DETECT)
    _remember(call, signals)
    return Ok(
        data={
            "anomalies": anomalies,
            "recommendedAction": _DETECT_ACTIONS[_band(score)],
            "riskLevel": _LEVELS[_band(score)],
            "anomalyScore": score,
            "affectedCount": len(other_numbers),
            "windowStats": {
                "windowSeconds": int(VELOCITY_WINDOW),
                "evaluationsForNumber": velocity,
                "distinctNumbersForDevice": len(other_numbers) + 1,
                "failedVerificationsForNumber": failures,
            },
            "transactionId": "DE-" + call.world.ids.uuid(),
            "metadataId": signals.metadata_id,
        }
    )
