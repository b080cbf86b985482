"""The sandbox's mutable state: accounts and what they did. Guarded by the Sandbox's lock.

Credentials are stored only as SHA-256 digests, as the real service stores fingerprints; raw
values exist only in the :class:`~authmatech.sandbox.SandboxAccount` handed to the caller and in
the one response that issues a new key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import uuid
from collections import deque

import attrs

__all__ = [
    "Account",
    "World",
    "Ids",
    "IntelRecord",
    "Proof",
    "SdkSession",
    "StuckSession",
    "digest",
    "digest_matches",
    "fingerprint_of",
]


def digest(value: str) -> bytes:
    """SHA-256 of the UTF-8 value: what the sandbox stores instead of a credential."""
    return hashlib.sha256(value.encode()).digest()


def digest_matches(presented: str, stored: bytes) -> bool:
    """Constant-time comparison of a presented credential with a stored digest."""
    return hmac.compare_digest(digest(presented), stored)


def fingerprint_of(stored: bytes) -> str:
    """The :attr:`Secret.fingerprint` of the value whose digest is ``stored``."""
    return "sha256:" + stored.hex()[:12]


class Ids:
    """Identifiers and credentials: from the OS's CSPRNG, or reproducible from a seed."""

    __slots__ = ("_random",)

    def __init__(self, seed: int | None) -> None:
        self._random: random.Random = random.SystemRandom() if seed is None else random.Random(seed)

    def random_bytes(self, count: int) -> bytes:
        return self._random.getrandbits(count * 8).to_bytes(count, "big")

    def token(self, prefix: str, count: int = 24) -> str:
        """``prefix`` + URL-safe base64 of ``count`` random bytes (never whitespace or quotes)."""
        return prefix + base64.urlsafe_b64encode(self.random_bytes(count)).decode().rstrip("=")

    def hex_id(self, count: int) -> str:
        return self.random_bytes(count).hex()

    def uuid(self) -> str:
        return str(uuid.UUID(bytes=self.random_bytes(16), version=4))


@attrs.define(slots=True, kw_only=True)
class Proof:
    """A device proof: the number and operator the operator's header enrichment saw."""

    mobile_number: str
    operator_id: str


@attrs.define(slots=True, kw_only=True)
class SdkSession:
    """What ``POST /v1/api/sdk/session`` stored about the device."""

    session_id: str
    mno_id: str | None
    device_id_hash: str | None
    code_present: bool | None
    registered_at: str


@attrs.define(slots=True, kw_only=True)
class IntelRecord:
    """One Trust/Shield/Detect evaluation, the history Detect and velocity rules look at."""

    at: float
    mobile_number: str
    device_id: str | None
    operator: str | None


@attrs.define(slots=True, kw_only=True)
class StuckSession:
    """A Stuck+ session opened by a negative verdict.

    ``confirmed_number`` is what the network saw (None when the proof was unknown).
    """

    session_id: str
    claimed_number: str
    confirmed_number: str | None
    channel: str
    service_type: str | None
    opened_at: str
    status: str = "OPEN"
    journey: list[dict[str, object]] = attrs.Factory(list)


@attrs.define(slots=True, kw_only=True)
class Account:
    """One client account: credential digests, products, balance and history."""

    client_id: str
    api_key_digest: bytes
    client_secret_digest: bytes
    sdk_token_digest: bytes
    products: frozenset[str]
    balance: int
    rate_limit_per_minute: int
    rate_window: float = 60.0
    window: deque[float] = attrs.Factory(deque)
    sdk_sessions: dict[str, SdkSession] = attrs.Factory(dict)
    verifications: list[dict[str, object]] = attrs.Factory(list)
    failures_by_number: dict[str, int] = attrs.Factory(dict)
    balance_history: list[dict[str, object]] = attrs.Factory(list)
    intel_history: list[IntelRecord] = attrs.Factory(list)
    stuck_sessions: dict[str, StuckSession] = attrs.Factory(dict)
    reveals: list[dict[str, object]] = attrs.Factory(list)
    integrations: list[dict[str, object]] = attrs.Factory(list)
    imports: list[dict[str, object]] = attrs.Factory(list)
    usage: dict[str, int] = attrs.Factory(dict)


@attrs.define(slots=True, kw_only=True)
class World:
    """Everything the sandbox knows: accounts, and the proofs and web transactions the
    operator side issued (shared by all accounts, as the operator network is)."""

    ids: Ids
    accounts: dict[str, Account] = attrs.Factory(dict)
    proofs: dict[str, Proof] = attrs.Factory(dict)
    web_transactions: dict[str, str] = attrs.Factory(dict)
