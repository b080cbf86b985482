"""Who is calling: the header pair checked against stored digests, raw and in constant time.

* API endpoints need ``X-CLIENT-ID`` + ``X-API-KEY``; ``POST /v1/api/sdk/session`` needs
  ``X-CLIENT-ID`` + ``X-SDK-TOKEN``.
* Values are compared exactly as received: a key with a trailing space or newline is a
  different key (over a real socket HTTP itself trims surrounding blanks, so only in-process
  adapters can deliver them).
* A request carrying the other credential as well is refused: an SDK token next to a valid
  API key, or an API key on the SDK-session call, is a 401. Least privilege means a client
  never sends both, so the sandbox treats it as the bug it is.
* Every refusal is the contract's 401 envelope, ``"Unauthorized"``, with nothing that tells
  which part was wrong.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._envelope import ApiError
from ._state import Account, digest, digest_matches

__all__ = ["authenticate"]

_NO_ACCOUNT = digest("no such account")


def _unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized")


def authenticate(
    accounts: Mapping[str, Account],
    kind: str,
    client_id: str | None,
    api_key: str | None,
    sdk_token: str | None,
) -> Account:
    """The account the headers prove, or a 401 ``ApiError``."""
    if kind == "sdk_token":
        presented, other = sdk_token, api_key
    else:
        presented, other = api_key, sdk_token
    if client_id is None or presented is None or other is not None:
        raise _unauthorized()
    account = accounts.get(client_id)
    if account is None:
        digest_matches(presented, _NO_ACCOUNT)  # same work either way
        raise _unauthorized()
    stored = account.sdk_token_digest if kind == "sdk_token" else account.api_key_digest
    if not digest_matches(presented, stored):
        raise _unauthorized()
    return account
