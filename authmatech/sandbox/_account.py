"""API-key management and the client-portal reads (``/v1/api/me/...``).

Key rotation (``clients/rotate-key``, ``clients/{clientId}/rotate-key``, ``me/api-key/rotate``)
and generation (``me/api-key/generate``) all need the client secret in the body as
``secretKey``. A missing secret is ``400 "secretKey is required."``, a wrong one
``400 "Invalid client secret."`` (400, not 401: 401 means the header pair is wrong, and the
header pair was right); either way nothing changes. On success the account's single key is
replaced and the old one is rejected from the next request on. Rotation answers 200 with
``data.newApiKey``; generation answers 201 with ``data.apiKey``. On the dashboard path a
``clientId`` other than the caller's is ``404 "Client not found."``.

Timestamps in the portal reads are wall-clock times (ISO 8601, UTC, to the millisecond). The
lists (``verifications``, ``balance-history``) take Spring's paging parameters, ``page`` (from
0) and ``size`` (1 to 1,000, default 20), and then also report ``page``, ``size`` and
``totalPages``; without them they answer every item.
"""

from __future__ import annotations

import copy

from ._call import Call, Ok, paged
from ._envelope import ApiError
from ._state import digest, digest_matches

__all__ = [
    "balance_history",
    "generate_api_key",
    "products",
    "rotate_api_key",
    "rotate_dashboard_key",
    "usage",
    "verifications",
]


def _new_key(call: Call) -> str:
    """Check ``secretKey``, then replace the account's API key; returns the raw new key."""
    secret = call.body(required=False).optional_str("secretKey")
    if not secret:
        raise ApiError(400, "secretKey is required.")
    if not digest_matches(secret, call.account.client_secret_digest):
        raise ApiError(400, "Invalid client secret.")
    key = call.world.ids.token("ak_sbx_", 30)
    call.account.api_key_digest = digest(key)
    return key


def rotate_api_key(call: Call) -> Ok:
    """``POST /v1/api/clients/rotate-key`` and ``POST /v1/api/me/api-key/rotate``."""
    return Ok(data={"newApiKey": _new_key(call)})


def rotate_dashboard_key(call: Call) -> Ok:
    """``POST /v1/api/clients/{clientId}/rotate-key``: only the caller's own client."""
    if call.params["clientId"] != call.account.client_id:
        raise ApiError(404, "Client not found.", code="resource_not_found")
    return Ok(data={"newApiKey": _new_key(call)})


def generate_api_key(call: Call) -> Ok:
    """``POST /v1/api/me/api-key/generate``: 201 Created with the new key."""
    return Ok(data={"apiKey": _new_key(call)}, status=201)


def products(call: Call) -> Ok:
    """``GET /v1/api/me/products``: the enabled products, sorted."""
    return Ok(data={"products": sorted(call.account.products)})


def usage(call: Call) -> Ok:
    """``GET /v1/api/me/usage``: successful calls per endpoint, and verification totals."""
    account = call.account
    return Ok(
        data={
            "balance": account.balance,
            "totalRequests": sum(account.usage.values()),
            "byEndpoint": dict(sorted(account.usage.items())),
            "verifications": len(account.verifications),
            "validNumbers": sum(1 for v in account.verifications if v["validNumber"]),
        }
    )


def verifications(call: Call) -> Ok:
    """``GET /v1/api/me/verifications``: history, oldest first, numbers masked."""
    items, paging = paged(call, copy.deepcopy(call.account.verifications))
    return Ok(data={"verifications": items, **paging})


def balance_history(call: Call) -> Ok:
    """``GET /v1/api/me/balance-history``: every credit and debit, oldest first."""
    entries, paging = paged(call, copy.deepcopy(call.account.balance_history))
    return Ok(data={"balance": call.account.balance, "entries": entries, **paging})
