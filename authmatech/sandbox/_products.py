"""Product names an account can have enabled.

The contract names the products in prose only (Verify, Verify N+, Trust, Shield, Detect,
Stuck+, Connect) and publishes no identifiers, so these upper-case names are the sandbox's own.
``GET /v1/api/me/products`` lists them, and a call to a product that is not enabled answers
``400 BAD_REQUEST`` with "Product <NAME> is not enabled for this account.".
"""

from __future__ import annotations

__all__ = [
    "ALL_PRODUCTS",
    "CONNECT",
    "DETECT",
    "SHIELD",
    "STUCK_PLUS",
    "TRUST",
    "VERIFY",
    "VERIFY_N_PLUS",
]

#: ``POST /v1/api/verify`` and ``POST /v1/api/verify/{transactionId}``.
VERIFY = "VERIFY"
#: ``maskMobile=true`` on either Verify call (needs ``VERIFY`` as well).
VERIFY_N_PLUS = "VERIFY_N_PLUS"
#: ``POST /v1/api/trust/score``.
TRUST = "TRUST"
#: ``POST /v1/api/shield/assess``.
SHIELD = "SHIELD"
#: ``POST /v1/api/detect/analyze``.
DETECT = "DETECT"
#: Every ``/v1/api/me/stuck-plus/**`` endpoint.
STUCK_PLUS = "STUCK_PLUS"
#: Every ``/v1/api/me/connect/**`` endpoint.
CONNECT = "CONNECT"

ALL_PRODUCTS: frozenset[str] = frozenset(
    {VERIFY, VERIFY_N_PLUS, TRUST, SHIELD, DETECT, STUCK_PLUS, CONNECT}
)
