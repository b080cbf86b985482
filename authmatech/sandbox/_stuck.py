"""Stuck+ (``/v1/api/me/stuck-plus/**``, product ``STUCK_PLUS``).

A negative Verify verdict opens a session (see ``_verify``). Listings show the claimed number
masked. ``reveal`` returns the confirmed number in full (the one place the contract returns a
raw number), costs one credit from the same balance as Verify, and writes an audit entry for
every attempt on an existing session, including refusals (no confirmed identity: 400,
balance empty: 400). ``reset`` reopens a session. Every negative verdict already opens a
session, so ``backfill`` reports nothing to recover.
"""

from __future__ import annotations

from ._body import mask_number
from ._call import Call, Ok, paged
from ._envelope import ApiError
from ._products import STUCK_PLUS
from ._state import StuckSession

__all__ = ["backfill", "journey", "overview", "reset", "reveal", "reveals", "sessions"]

REVEAL_REASON = "STUCK_PLUS_REVEAL"


def _summary(session: StuckSession) -> dict[str, object]:
    return {
        "sessionId": session.session_id,
        "status": session.status,
        "mobileNumber": mask_number(session.claimed_number),
        "channel": session.channel,
        "serviceType": session.service_type,
        "openedAt": session.opened_at,
        "hasConfirmedIdentity": session.confirmed_number is not None,
    }


def _session(call: Call) -> StuckSession:
    call.require_product(STUCK_PLUS)
    session = call.account.stuck_sessions.get(call.params["sessionId"])
    if session is None:
        raise ApiError(404, "Session not found.", code="resource_not_found")
    return session


def overview(call: Call) -> Ok:
    """``GET .../overview``: session counts by status."""
    call.require_product(STUCK_PLUS)
    all_sessions = list(call.account.stuck_sessions.values())
    counts: dict[str, int] = {"OPEN": 0, "REVEALED": 0}
    for session in all_sessions:
        counts[session.status] = counts.get(session.status, 0) + 1
    return Ok(
        data={
            "totalSessions": len(all_sessions),
            "byStatus": counts,
            "withConfirmedIdentity": sum(1 for s in all_sessions if s.confirmed_number),
            "reveals": len(call.account.reveals),
        }
    )


def sessions(call: Call) -> Ok:
    """``GET .../sessions`` (optional ``status`` filter), oldest first."""
    call.require_product(STUCK_PLUS)
    wanted = call.request.query_value("status")
    items = [
        _summary(s)
        for s in call.account.stuck_sessions.values()
        if wanted is None or s.status == wanted.upper()
    ]
    page, paging = paged(call, items)
    return Ok(data={"sessions": page, **paging})


def journey(call: Call) -> Ok:
    """``GET .../sessions/{sessionId}/journey``."""
    session = _session(call)
    return Ok(data={**_summary(session), "events": [dict(e) for e in session.journey]})


def reveal(call: Call) -> Ok:
    """``POST .../sessions/{sessionId}/reveal``: billed, audited, never retried by clients."""
    session = _session(call)
    call.body(required=False)
    if session.confirmed_number is None:
        _audit(call, session, "NO_CONFIRMED_IDENTITY")
        raise ApiError(400, "Session has no confirmed mobile identity to reveal.")
    try:
        call.charge(REVEAL_REASON)
    except ApiError:
        _audit(call, session, "INSUFFICIENT_BALANCE")
        raise
    _audit(call, session, "REVEALED")
    session.status = "REVEALED"
    session.journey.append({"event": "REVEALED", "timestamp": call.timestamp})
    return Ok(
        data={
            "sessionId": session.session_id,
            "mobileNumber": session.confirmed_number,
            "revealedAt": call.timestamp,
        }
    )


def _audit(call: Call, session: StuckSession, outcome: str) -> None:
    confirmed = session.confirmed_number
    call.account.reveals.append(
        {
            "sessionId": session.session_id,
            "outcome": outcome,
            "mobileNumber": None if confirmed is None else mask_number(confirmed),
            "clientId": call.account.client_id,
            "apiKeyFingerprint": call.api_key_fingerprint,
            "timestamp": call.timestamp,
        }
    )


def reset(call: Call) -> Ok:
    """``POST .../sessions/{sessionId}/reset``: back to OPEN."""
    session = _session(call)
    call.body(required=False)
    session.status = "OPEN"
    session.journey.append({"event": "RESET", "timestamp": call.timestamp})
    return Ok(data=_summary(session))


def backfill(call: Call) -> Ok:
    """``POST .../backfill``."""
    call.require_product(STUCK_PLUS)
    call.body(required=False)
    return Ok(data={"recovered": 0, "totalSessions": len(call.account.stuck_sessions)})


def reveals(call: Call) -> Ok:
    """``GET .../reveals``: the reveal audit, oldest first."""
    call.require_product(STUCK_PLUS)
    items = [dict(entry) for entry in call.account.reveals]
    page, paging = paged(call, items)
    return Ok(data={"reveals": page, **paging})
