"""The values that cross the sandbox's sans-IO boundary, and those it hands to tests.

A :class:`SandboxRequest` goes in, a :class:`SandboxReply` comes out; adapters (httpx
transports, the ASGI app, the loopback server) only translate these to and from their own
types, and carry out the reply's fault instructions (``delay``, ``reset``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Literal

import attrs

from ..credentials import Secret

__all__ = [
    "DeviceProof",
    "Fault",
    "ResetKind",
    "SandboxAccount",
    "SandboxReply",
    "SandboxRequest",
    "SeenRequest",
]

#: Where an injected connection reset happens: before any byte of the response, or after the
#: headers and part of the body.
ResetKind = Literal["before_response", "mid_body"]

Pairs = tuple[tuple[str, str], ...]


def _pairs(items: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> Pairs:
    if items is None:
        return ()
    if isinstance(items, Mapping):
        return tuple((str(name), str(value)) for name, value in items.items())
    return tuple((str(name), str(value)) for name, value in items)


@attrs.frozen(slots=True, kw_only=True)
class SandboxRequest:
    """An HTTP request as the emulator sees it: nothing is stripped or normalised but the
    header names (lower-cased) and the method (upper-cased)."""

    method: str
    path: str
    query: Pairs = ()
    headers: Pairs = ()
    body: bytes = b""

    @classmethod
    def of(
        cls,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> SandboxRequest:
        """Build a request from mappings or pairs, normalising names as HTTP does."""
        return cls(
            method=method.upper(),
            path=path,
            query=_pairs(query),
            headers=tuple((name.lower(), value) for name, value in _pairs(headers)),
            body=body,
        )

    def header(self, name: str) -> str | None:
        """The header's value, repeated headers joined by ``", "`` as HTTP defines; or None."""
        wanted = name.lower()
        values = [value for key, value in self.headers if key.lower() == wanted]
        return ", ".join(values) if values else None

    def query_value(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        return next((value for key, value in self.query if key == name), None)


@attrs.frozen(slots=True, kw_only=True)
class SandboxReply:
    """What to answer, and how to misbehave while answering (set by injected faults).

    ``headers`` never contain ``Content-Length``: each adapter frames the body itself. With
    ``reset="mid_body"`` the adapter announces ``len(body)`` but sends only ``partial_body``;
    with ``reset="before_response"`` nothing is sent (``status`` is 0 when the request never
    reached the service).
    """

    status: int
    headers: Pairs
    body: bytes
    delay: float = 0.0
    reset: ResetKind | None = None

    @property
    def partial_body(self) -> bytes:
        """The prefix sent before a mid-body reset: half the body, at least one byte."""
        return self.body[: max(1, len(self.body) // 2)]

    def header(self, name: str) -> str | None:
        """The first value of a response header, or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def json(self) -> object:
        """The body decoded as JSON (raises ``ValueError`` for a malformed-body fault)."""
        return json.loads(self.body)


@attrs.frozen(slots=True, kw_only=True)
class SandboxAccount:
    """A sandbox account and its raw credentials, which the sandbox itself does not keep."""

    client_id: str
    api_key: Secret
    client_secret: Secret
    sdk_token: Secret
    products: frozenset[str]


@attrs.frozen(slots=True, kw_only=True)
class DeviceProof:
    """What the device SDK hands the backend after header enrichment for one number."""

    encrypted_mobile_number: str
    operator_id: str


@attrs.frozen(slots=True, kw_only=True)
class SeenRequest:
    """One request as the sandbox saw it, with credentials reduced to fingerprints.

    ``status`` is None when an injected reset meant no response was sent.
    """

    method: str
    path: str
    status: int | None
    client_id: str | None
    api_key_fingerprint: str | None
    sdk_token_fingerprint: str | None
    at: float
    request_id: str
    faulted: bool = False


@attrs.frozen(slots=True, kw_only=True)
class Fault:
    """A misbehaviour applied to the next ``times`` requests that match ``method``/``path``.

    ``path`` is an exact path or an ``fnmatch`` pattern (``/v1/api/me/*``). See
    :meth:`authmatech.sandbox.Sandbox.inject_fault` for what each field does.
    """

    status: int | None = None
    body: bytes | None = None
    headers: Pairs = ()
    delay: float = 0.0
    reset: ResetKind | None = None
    malformed_body: bool = False
    times: int = 1
    path: str | None = None
    method: str | None = None
    processed: bool | None = None
