"""What a handler sees of one authenticated request, and the helpers every handler shares."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ._body import Fields, parse_body, parse_flag
from ._envelope import ApiError
from ._state import Account, World
from ._values import SandboxRequest

__all__ = ["Call", "Ok"]


@attrs.frozen(slots=True, kw_only=True)
class Ok:
    """A handler's success: ``data`` for the envelope and the HTTP status (200 or 201)."""

    data: object
    status: int = 200


@attrs.define(slots=True, kw_only=True)
class Call:
    """One request on its way through a handler, with the account it authenticated as."""

    request: SandboxRequest
    account: Account
    world: World
    params: Mapping[str, str]
    now: float
    api_key_fingerprint: str | None
    _body: Fields | None = None

    def body(self, *, required: bool = True) -> Fields:
        """The JSON body (parsed once); see :func:`parse_body`."""
        if self._body is None:
            self._body = parse_body(
                self.request.body, self.request.header("content-type"), required=required
            )
        return self._body

    def flag(self, name: str) -> bool:
        """A boolean query parameter."""
        return parse_flag(self.request.query_value(name), name)

    def require_product(self, product: str) -> None:
        """400 unless ``product`` is enabled for the account."""
        if product not in self.account.products:
            raise ApiError(400, f"Product {product} is not enabled for this account.")

    def charge(self, reason: str) -> None:
        """Take one credit, or answer 400 when the balance is empty.

        Handlers call it after every check that can fail, so only successful calls are billed.
        """
        account = self.account
        if account.balance <= 0:
            raise ApiError(400, "Insufficient balance.")
        account.balance -= 1
        account.balance_history.append(
            {"delta": -1, "balanceAfter": account.balance, "reason": reason, "timestamp": self.now}
        )
