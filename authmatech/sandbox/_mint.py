"""Device proofs and web transaction ids, minted for any number: by :class:`Sandbox` in Python
and over HTTP by the sandbox-only routes (not part of the Authmatech API):

* ``POST /sandbox/device-proofs`` ``{"mobileNumber": ..., "operatorId": "ZAIN_JO"}`` answers
  ``data: {"encryptedMobileNumber", "operatorId", "mobileNumber"}``, what the device SDK would
  hand the app after header enrichment;
* ``POST /sandbox/web-transactions`` ``{"mobileNumber": ...}`` answers
  ``data: {"transactionId", "mobileNumber"}``, a web-flow transaction for ``verify_web``.

Both take the API-key header pair like the server APIs (so a sandbox exposed with
``--allow-non-loopback`` mints nothing for strangers), are not billed and need no product.
The sandbox keeps the most recent ``MAX_MINTED`` of each; older ones are forgotten (and then
verify as unknown), so minting in a loop cannot exhaust memory.
"""

from __future__ import annotations

import base64

from ..core import _limits
from ._body import check_mobile_number
from ._call import Call, Ok
from ._state import Proof, World

__all__ = ["MAX_MINTED", "device_proof", "mint_proof", "mint_web_transaction", "web_transaction"]

MAX_MINTED = 100_000


def mint_proof(world: World, mobile_number: str, operator_id: str) -> str:
    """A new proof for ``mobile_number`` (already checked) and ``operator_id``."""
    token = base64.b64encode(world.ids.random_bytes(48)).decode()
    world.proofs[token] = Proof(mobile_number=mobile_number, operator_id=operator_id)
    while len(world.proofs) > MAX_MINTED:
        del world.proofs[next(iter(world.proofs))]
    return token


def mint_web_transaction(world: World, mobile_number: str) -> str:
    """A new web transaction id whose confirmed number is ``mobile_number``."""
    transaction_id = world.ids.uuid()
    world.web_transactions[transaction_id] = mobile_number
    while len(world.web_transactions) > MAX_MINTED:
        del world.web_transactions[next(iter(world.web_transactions))]
    return transaction_id


def device_proof(call: Call) -> Ok:
    """``POST /sandbox/device-proofs``."""
    body = call.body()
    number = check_mobile_number(body.required_str("mobileNumber", min_length=0))
    operator_id = body.optional_str("operatorId", min_length=1, max_length=_limits.ID_MAX)
    operator_id = operator_id or "ZAIN_JO"
    token = mint_proof(call.world, number, operator_id)
    return Ok(
        data={"encryptedMobileNumber": token, "operatorId": operator_id, "mobileNumber": number},
        status=201,
    )


def web_transaction(call: Call) -> Ok:
    """``POST /sandbox/web-transactions``."""
    number = check_mobile_number(call.body().required_str("mobileNumber", min_length=0))
    transaction_id = mint_web_transaction(call.world, number)
    return Ok(data={"transactionId": transaction_id, "mobileNumber": number}, status=201)
