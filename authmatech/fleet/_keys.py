"""Redis key names for one account, all in one Cluster hash slot.

Every key of a client id carries the same hash tag, so the GCRA script (one key) and the
rotation lock and version (several keys touched together) always land on one Cluster node.
A client id made only of safe characters is the tag itself, readable by operators; any other
is replaced by a digest, so that no ``{`` or ``}`` inside it can break the tag.
"""

from __future__ import annotations

import hashlib
import re

import attrs

__all__ = ["FleetKeys", "hash_tag"]

_SAFE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def hash_tag(client_id: str) -> str:
    """The Cluster hash tag for ``client_id``: ``{client_id}`` or ``{sha256-prefix}``."""
    if _SAFE.fullmatch(client_id):
        return "{" + client_id + "}"
    return "{" + hashlib.sha256(client_id.encode()).hexdigest()[:32] + "}"


@attrs.frozen(slots=True)
class FleetKeys:
    """The keys that one account's fleet shares (``prefix`` lets several apps share a Redis)."""

    budget: str
    rotation_lock: str
    rotation_fence: str
    key_version: str

    @classmethod
    def of(cls, client_id: str, prefix: str = "authmatech") -> FleetKeys:
        base = f"{prefix}:{hash_tag(client_id)}"
        return cls(
            budget=f"{base}:budget",
            rotation_lock=f"{base}:rotation:lock",
            rotation_fence=f"{base}:rotation:fence",
            key_version=f"{base}:key",
        )
