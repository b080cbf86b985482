"""Injected faults: which pending fault a request triggers, and what it does to the answer."""

from __future__ import annotations

import fnmatch
import http
import math

import attrs

from ._envelope import failure_body
from ._errors import SandboxConfigurationError
from ._values import Fault, SandboxRequest

__all__ = ["FaultQueue", "fault_body", "processes", "validate"]


@attrs.define(slots=True)
class _Pending:
    fault: Fault
    remaining: int


class FaultQueue:
    """Pending faults, first injected first used; each is spent after ``times`` matches."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: list[_Pending] = []

    def add(self, fault: Fault) -> None:
        self._pending.append(_Pending(fault, fault.times))

    def clear(self) -> None:
        self._pending.clear()

    def take(self, request: SandboxRequest) -> Fault | None:
        """The first pending fault matching ``request``, counting one use of it."""
        for index, pending in enumerate(self._pending):
            fault = pending.fault
            if fault.method is not None and fault.method.upper() != request.method:
                continue
            if fault.path is not None and not fnmatch.fnmatchcase(request.path, fault.path):
                continue
            pending.remaining -= 1
            if pending.remaining == 0:
                del self._pending[index]
            return fault
        return None

    def __len__(self) -> int:
        return len(self._pending)


def processes(fault: Fault) -> bool:
    """Whether the request still reaches the service (and may change state, be billed).

    By default a fault that replaces the answer (a status, a reset before the response) stops
    the request in front of the service, like a failing proxy; one that only alters the answer
    (delay, headers, mid-body reset, malformed body) lets it through. ``processed`` overrides.
    """
    if fault.processed is not None:
        return fault.processed
    return fault.status is None and fault.reset != "before_response"


def fault_body(status: int) -> bytes:
    """The default body of an injected status: an envelope, as the service would answer."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    if status in (204, 304):
        return b""  # answers that carry no body
    code = "internal_server_error" if status == 500 else None
    return failure_body(status, f"{phrase}.", code)


def validate(fault: Fault) -> Fault:
    """``fault`` if its fields make sense, else ``SandboxConfigurationError``."""
    if fault.times < 1:
        raise SandboxConfigurationError("times must be at least 1")
    if not math.isfinite(fault.delay) or fault.delay < 0:
        raise SandboxConfigurationError("delay must be a finite number of seconds >= 0")
    if fault.status is not None and not 200 <= fault.status <= 599:
        raise SandboxConfigurationError("status must be between 200 and 599")
    if fault.reset not in (None, "before_response", "mid_body"):
        raise SandboxConfigurationError("reset must be 'before_response', 'mid_body' or None")
    changes = (
        fault.status is not None
        or fault.body is not None
        or fault.headers
        or fault.delay > 0
        or fault.reset is not None
        or fault.malformed_body
    )
    if fault.processed is False and fault.status is None and fault.reset != "before_response":
        raise SandboxConfigurationError(
            "processed=False needs a status or reset='before_response' to answer"
        )
    if not changes:
        raise SandboxConfigurationError(
            "a fault must change something: status, body, headers, delay, reset..."
        )
    return fault
