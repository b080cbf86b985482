"""The per-client budget: at most N accepted requests in any 60 seconds (sliding log).

Only accepted requests are logged, so a client hammering through a 429 is let back in as soon
as its oldest accepted request is 60 seconds old.
"""

from __future__ import annotations

from collections import deque

__all__ = ["WINDOW_SECONDS", "admit"]

WINDOW_SECONDS = 60.0


def admit(window: deque[float], limit: int, now: float) -> bool:
    """Record a request at ``now`` and return True, or return False when over ``limit``."""
    while window and window[0] <= now - WINDOW_SECONDS:
        window.popleft()
    if len(window) >= limit:
        return False
    window.append(now)
    return True
