"""The sans-IO core: everything about the Authmatech API except moving bytes.

It builds every request (URL, headers, JSON body), enforces the credential-scope rules, parses
every response into a result or an exception, and decides retries. It imports no HTTP library,
never sleeps and never reads the clock, so another SDK can embed it with any HTTP stack::

    from authmatech import Credentials, core

    call = core.verify("+962791234567", proof_from_device, operator_id="ZAIN_JO")
    request = call.build(Credentials("my-client-id", api_key=api_key))
    status, headers, body = my_http_library.send(request.method, request.url,
                                                 request.headers, request.body)
    result = call.parse(core.HttpResponse(status, headers, body))
    result.valid_number

To get retries too, drive :func:`call_flow` (see its docstring).
"""

from ._calls import (
    account_balance_history,
    account_products,
    account_usage,
    account_verifications,
    connect_create_integration,
    connect_start_import,
    detect_analyze,
    generate_api_key,
    register_sdk_session,
    rotate_api_key,
    rotate_client_key,
    rotate_client_key_by_id,
    shield_assess,
    stuck_plus_backfill,
    stuck_plus_journey,
    stuck_plus_overview,
    stuck_plus_reset,
    stuck_plus_reveal,
    stuck_plus_reveals,
    stuck_plus_sessions,
    trust_score,
    verify,
    verify_web,
)
from ._flow import Answer, Authenticate, Clock, Send, Settings, Sleep, Step, call_flow
from ._http import HttpRequest, HttpResponse, Timeout
from ._operations import OPERATIONS, Auth, Operation, Replay
from ._redact import InFlightFilter, RedactionFilter, mask_headers, mask_phone, redact_text
from ._request import DEFAULT_BASE_URL, Call, ClientConfig
from ._response import parse_response, parse_retry_after
from ._retry import RetryPolicy, retry_delay
from ._validate import check_e164

__all__ = [
    "DEFAULT_BASE_URL",
    "OPERATIONS",
    "Answer",
    "Auth",
    "Authenticate",
    "Call",
    "ClientConfig",
    "Clock",
    "HttpRequest",
    "HttpResponse",
    "Operation",
    "InFlightFilter",
    "RedactionFilter",
    "Replay",
    "RetryPolicy",
    "Send",
    "Settings",
    "Sleep",
    "Step",
    "Timeout",
    "account_balance_history",
    "account_products",
    "account_usage",
    "account_verifications",
    "call_flow",
    "check_e164",
    "connect_create_integration",
    "connect_start_import",
    "detect_analyze",
    "generate_api_key",
    "mask_headers",
    "mask_phone",
    "parse_response",
    "parse_retry_after",
    "redact_text",
    "register_sdk_session",
    "retry_delay",
    "rotate_api_key",
    "rotate_client_key",
    "rotate_client_key_by_id",
    "shield_assess",
    "stuck_plus_backfill",
    "stuck_plus_journey",
    "stuck_plus_overview",
    "stuck_plus_reset",
    "stuck_plus_reveal",
    "stuck_plus_reveals",
    "stuck_plus_sessions",
    "trust_score",
    "verify",
    "verify_web",
]
