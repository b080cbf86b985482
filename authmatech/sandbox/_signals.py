"""The identity-intelligence signals shared by Trust, Shield and Detect, parsed and typed."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from ..core import _limits
from ._body import Fields, check_mobile_number

__all__ = ["Signals", "country_of", "parse_signals"]

# Calling codes of the markets the contract evidences, and a few neighbours.
_CALLING_CODES: Mapping[str, str] = MappingProxyType({
    "962": "JO", "971": "AE", "966": "SA", "965": "KW", "974": "QA", "973": "BH",
    "968": "OM", "964": "IQ", "961": "LB", "970": "PS", "212": "MA", "20": "EG",
    "90": "TR", "44": "GB", "49": "DE", "33": "FR", "1": "US",
})  # fmt: skip


def country_of(mobile_number: str) -> str | None:
    """ISO country of an E.164 number from its calling code, None when not in the table."""
    digits = mobile_number.lstrip("+")
    for length in (3, 2, 1):
        country = _CALLING_CODES.get(digits[:length])
        if country is not None:
            return country
    return None


@attrs.frozen(slots=True, kw_only=True)
class Signals:
    """The request fields the rules read (``device``/``network`` flattened)."""

    mobile_number: str
    metadata_id: str | None
    sdk_session_id: str | None
    has_device: bool
    has_network: bool
    is_rooted: bool
    is_emulator: bool
    vpn_detected: bool
    proxy_detected: bool
    app_integrity_status: str | None
    device_id: str | None
    country_code: str | None
    operator: str | None
    connection_type: str | None


def parse_signals(body: Fields, *, detect: bool = False) -> Signals:
    """Parse and type-check the §4.4 fields (plus Detect's top-level ``operator`` and
    ``countryCode``, which take precedence over the ones inside ``network``)."""
    number = check_mobile_number(body.required_str("mobileNumber", min_length=0))
    metadata_id = body.optional_str("metadataId", max_length=_limits.METADATA_ID_MAX)
    body.optional_str("sessionId", max_length=_limits.SESSION_ID_MAX)
    sdk_session_id = body.optional_str("sdkSessionId", max_length=_limits.ID_MAX)
    device = body.optional_object("device") or Fields({}, "device.")
    network = body.optional_object("network") or Fields({}, "network.")
    for key in ("platform", "osVersion", "model", "appVersion", "sdkVersion"):
        device.optional_str(key)
    network.optional_str("ipAddress")
    country = network.optional_str("countryCode")
    operator = network.optional_str("operator")
    if detect:
        operator = body.optional_str("operator") or operator
        country = body.optional_str("countryCode") or country
    return Signals(
        mobile_number=number,
        metadata_id=metadata_id,
        sdk_session_id=sdk_session_id,
        has_device=len(device) > 0,
        has_network=len(network) > 0,
        is_rooted=bool(device.optional_bool("isRooted")),
        is_emulator=bool(device.optional_bool("isEmulator")),
        vpn_detected=bool(device.optional_bool("vpnDetected")),
        proxy_detected=bool(device.optional_bool("proxyDetected")),
        app_integrity_status=device.optional_str("appIntegrityStatus"),
        device_id=device.optional_str("deviceId"),
        country_code=None if country is None else country.upper(),
        operator=operator,
        connection_type=network.optional_str("connectionType"),
    )
