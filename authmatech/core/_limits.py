"""The input limits of the API, once: the client checks them before sending, the sandbox on
receipt, so the two cannot disagree about what is valid.

Only data lives here (no checking code): the client (``_validate``, ``_calls``) and the sandbox
each apply these values with code of their own, so a bug in one still shows against the other.
Where the contract (``authmatech-api.md``) states a rule, the value is that rule; where it is
silent, the value is this library's choice, and the docs list it as the sandbox's own
(docs/testing.md, "Limits the contract does not state").
"""

from __future__ import annotations

import re

__all__ = [
    "API_KEY_MAX",
    "BATCH_SIZE_MAX",
    "BATCH_SIZE_MIN",
    "DISPLAY_NAME_MAX",
    "E164",
    "ENDPOINT_URL_MAX",
    "ENDPOINT_URL_SCHEMES",
    "HTTP_METHOD_MAX",
    "ID_MAX",
    "INTEGRATION_TYPE_MAX",
    "METADATA_ID_MAX",
    "PATH_ID_MAX",
    "SERVICE_TYPES",
    "SERVICE_TYPE_PATTERN",
    "SESSION_ID_MAX",
    "TEXT_MAX",
    "TRIGGER_EVENT_MAX",
]

#: Contract §2: ``+``, a non-zero digit, then 6 to 14 more digits.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")

#: Contract §5.3: the five documented values.
SERVICE_TYPES = ("REGISTRATION", "LOGIN", "RESET_PASS", "UPDATE_DETAILS", "TRANSACTION")
#: Contract §5.3 says to allow other strings (values Authmatech may add); both sides accept an
#: UPPER_SNAKE_CASE word of up to 64 characters, so a typo such as ``login`` is still caught.
SERVICE_TYPE_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{0,63}")

#: ``sdkSessionId`` (verify, SDK session, Trust/Shield/Detect), ``jobId``, ``operatorId`` and
#: ``mnoId``: the contract gives a UUID-shaped example and no maximum.
ID_MAX = 128
#: A path segment (transaction, session or client id): at most this long.
PATH_ID_MAX = 256
#: ``metadataId`` and ``sessionId`` of the signals (your own correlation ids).
METADATA_ID_MAX = 256
SESSION_ID_MAX = 256

#: Connect integrations. ``displayName`` 1-100 is the contract's (§4.14); the rest are ours.
DISPLAY_NAME_MAX = 100
INTEGRATION_TYPE_MAX = 100
TRIGGER_EVENT_MAX = 100
HTTP_METHOD_MAX = 16
API_KEY_MAX = 4096
#: ``endpointUrl``: an absolute http(s) URL with a host, at most 2048 characters.
ENDPOINT_URL_MAX = 2048
ENDPOINT_URL_SCHEMES = ("http", "https")
#: ``batchSize``: the contract says int32; rows per delivery are 1 to 10,000.
BATCH_SIZE_MIN = 1
BATCH_SIZE_MAX = 10_000
#: Any other string field (the proof, device and network signals, ...): at most this long.
TEXT_MAX = 4096
