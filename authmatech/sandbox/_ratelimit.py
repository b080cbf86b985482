"""The per-client budget: at most N accepted requests in any window of S seconds (a sliding
log; the API's is 1,000 in 60 s).

Only accepted requests are logged, so a client hammering through a 429 is let back in as soon
as its oldest accepted request is S seconds old.
"""

from __future__ import annotations

from collections import deque

__all__ = ["WINDOW_SECONDS", "admit"]

WINDOW_SECONDS = 60.0


def admit(window: deque[float], limit: int, now: float, span: float = WINDOW_SECONDS) -> bool:
    """Record a request at ``now`` and return True, or return False when ``limit`` requests
    were accepted in the last ``span`` seconds."""
    while window and window[0] <= now - span:
        window.popleft()
    if len(window) >= limit:
        return False
    window.append(now)
    return True
