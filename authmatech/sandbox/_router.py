"""The route table: which handler answers which method and path, with which credential.

Routing happens before authentication, so a mistyped path is a 404 (``resource_not_found``)
and a known path with another method a 405 (``METHOD_NOT_ALLOWED``, with ``Allow``), whatever
the credentials. Paths match exactly: no trailing slash, no prefix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

import attrs

from . import _account, _connect, _intel, _mint, _stuck, _verify
from ._call import Call, Ok
from ._envelope import ApiError

__all__ = ["ROUTES", "Route", "match_route"]

Handler = Callable[[Call], Ok]
#: ``api_key``: X-CLIENT-ID + X-API-KEY. ``sdk_token``: X-CLIENT-ID + X-SDK-TOKEN.
AuthKind = Literal["api_key", "sdk_token"]


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(pattern)


@attrs.frozen(slots=True, kw_only=True)
class Route:
    """One endpoint of the contract."""

    method: str
    template: str
    handler: Handler
    pattern: re.Pattern[str]
    auth: AuthKind = "api_key"

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


def _r(method: str, template: str, handler: Handler, auth: AuthKind = "api_key") -> Route:
    return Route(
        method=method, template=template, handler=handler, pattern=_compile(template), auth=auth
    )


_ME = "/v1/api/me"
_STUCK = f"{_ME}/stuck-plus"

ROUTES: tuple[Route, ...] = (
    _r("POST", "/v1/api/verify", _verify.verify),
    _r("POST", "/v1/api/verify/{transactionId}", _verify.verify_web),
    _r("POST", "/v1/api/sdk/session", _verify.register_sdk_session, auth="sdk_token"),
    _r("POST", "/v1/api/trust/score", _intel.trust_score),
    _r("POST", "/v1/api/shield/assess", _intel.shield_assess),
    _r("POST", "/v1/api/detect/analyze", _intel.detect_analyze),
    _r("POST", "/v1/api/clients/rotate-key", _account.rotate_api_key),
    _r("POST", "/v1/api/clients/{clientId}/rotate-key", _account.rotate_dashboard_key),
    _r("POST", f"{_ME}/api-key/rotate", _account.rotate_api_key),
    _r("POST", f"{_ME}/api-key/generate", _account.generate_api_key),
    _r("GET", f"{_ME}/products", _account.products),
    _r("GET", f"{_ME}/usage", _account.usage),
    _r("GET", f"{_ME}/verifications", _account.verifications),
    _r("GET", f"{_ME}/balance-history", _account.balance_history),
    _r("GET", f"{_STUCK}/overview", _stuck.overview),
    _r("GET", f"{_STUCK}/sessions", _stuck.sessions),
    _r("GET", f"{_STUCK}/sessions/{{sessionId}}/journey", _stuck.journey),
    _r("POST", f"{_STUCK}/sessions/{{sessionId}}/reveal", _stuck.reveal),
    _r("POST", f"{_STUCK}/sessions/{{sessionId}}/reset", _stuck.reset),
    _r("POST", f"{_STUCK}/backfill", _stuck.backfill),
    _r("GET", f"{_STUCK}/reveals", _stuck.reveals),
    _r("POST", f"{_ME}/connect/import/start", _connect.start_import),
    _r("POST", f"{_ME}/connect/integrations", _connect.create_integration),
    # Sandbox-only (not in the Authmatech API): what device SDKs and web pages would obtain.
    _r("POST", "/sandbox/device-proofs", _mint.device_proof),
    _r("POST", "/sandbox/web-transactions", _mint.web_transaction),
)


def match_route(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for ``method`` and ``path`` and its path parameters, or a 404/405 ApiError."""
    allowed: list[str] = []
    for route in ROUTES:
        found = route.pattern.fullmatch(path)
        if found is None:
            continue
        if route.method == method:
            return route, found.groupdict()
        allowed.append(route.method)
    if allowed:
        raise ApiError(
            405,
            f"Request method '{method}' is not supported.",
            headers=(("Allow", ", ".join(sorted(set(allowed)))),),
        )
    raise ApiError(404, "Resource not found.", code="resource_not_found")
