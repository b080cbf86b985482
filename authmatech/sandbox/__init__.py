"""A faithful local emulator of the Authmatech HTTP API, for offline development and tests.

>>> import httpx
>>> from authmatech.sandbox import Sandbox
>>> sb = Sandbox(seed=1)
>>> account = sb.create_account()
>>> proof = sb.device_proof("+962791234567")
>>> with httpx.Client(transport=sb.transport(), base_url="https://service.authmatech.com") as http:
...     response = http.post(
...         "/v1/api/verify",
...         headers={"X-CLIENT-ID": account.client_id, "X-API-KEY": account.api_key.reveal()},
...         json={"mobileNumber": "+962791234567",
...               "encryptedMobileNumber": proof.encrypted_mobile_number},
...     )
>>> response.json()["data"]
{'validNumber': True}

The emulator is a server: it shares no code with the client, so a client bug cannot hide behind
it, except the table of input limits both apply (``core/_limits.py``, data only: each side
checks with code of its own). Its core is sans-IO (:meth:`Sandbox.handle`); adapters serve it
as an httpx transport (sync and async), an ASGI app, or a real loopback HTTP server
(:class:`ServerThread`, :func:`serve`). The rules it follows, where the contract is silent, are
documented in the private modules: ``_auth`` (401s), ``_router`` (404/405), ``_verify``,
``_intel`` (Trust/Shield/Detect), ``_account`` (key rotation), ``_stuck``, ``_connect``,
``_faults`` and ``_ratelimit``.
"""

from ._asgi import InjectedReset, SandboxASGIApp
from ._errors import SandboxConfigurationError
from ._products import (
    ALL_PRODUCTS,
    CONNECT,
    DETECT,
    SHIELD,
    STUCK_PLUS,
    TRUST,
    VERIFY,
    VERIFY_N_PLUS,
)
from ._sandbox import MAX_BODY_BYTES, Sandbox
from ._server import ServerLimits, ServerThread, serve
from ._values import (
    DeviceProof,
    Fault,
    ResetKind,
    SandboxAccount,
    SandboxReply,
    SandboxRequest,
    SeenRequest,
)

__all__ = [
    "ALL_PRODUCTS",
    "CONNECT",
    "DETECT",
    "MAX_BODY_BYTES",
    "SHIELD",
    "STUCK_PLUS",
    "TRUST",
    "VERIFY",
    "VERIFY_N_PLUS",
    "DeviceProof",
    "Fault",
    "InjectedReset",
    "ResetKind",
    "Sandbox",
    "SandboxASGIApp",
    "SandboxConfigurationError",
    "SandboxAccount",
    "SandboxReply",
    "SandboxRequest",
    "SeenRequest",
    "ServerLimits",
    "ServerThread",
    "serve",
]
