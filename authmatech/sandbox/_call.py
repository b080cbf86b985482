"""What a handler sees of one authenticated request, and the helpers every handler shares."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TypeVar

import attrs

from ._body import Fields, parse_body, parse_flag
from ._envelope import ApiError
from ._state import Account, World
from ._values import SandboxRequest

__all__ = ["PAGE_SIZE_DEFAULT", "PAGE_SIZE_MAX", "Call", "Ok", "paged", "wall_time"]

T = TypeVar("T")

#: Spring's paging defaults: ``size`` 20 when only ``page`` is given, at most 1,000.
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 1000
_PAGE_MAX = 1_000_000


def wall_time(seconds: float) -> str:
    """``seconds`` since the epoch as the API reports times: ISO 8601 in UTC, to the
    millisecond (``2026-12-01T23:20:05.123Z``)."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
    #: The wall-clock time of the request, as the answers report it (see :func:`wall_time`).
    timestamp: str
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
            {
                "delta": -1,
                "balanceAfter": account.balance,
                "reason": reason,
                "timestamp": self.timestamp,
            }
        )


def _page_param(call: Call, name: str, minimum: int, maximum: int) -> int | None:
    raw = call.request.query_value(name)
    if raw is None:
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or not minimum <= int(text) <= maximum:
        raise ApiError(
            400, f"Query parameter {name} must be an integer from {minimum} to {maximum}."
        )
    return int(text)


def paged(call: Call, items: list[T]) -> tuple[list[T], dict[str, int]]:
    """One page of ``items`` and what to report about it, by Spring's ``page`` (from 0) and
    ``size`` query parameters; without either, every item (and only ``total``)."""
    page = _page_param(call, "page", 0, _PAGE_MAX)
    size = _page_param(call, "size", 1, PAGE_SIZE_MAX)
    total = len(items)
    if page is None and size is None:
        return items, {"total": total}
    page = page or 0
    size = size or PAGE_SIZE_DEFAULT
    chunk = items[page * size : (page + 1) * size]
    return chunk, {"total": total, "page": page, "size": size, "totalPages": -(-total // size)}
