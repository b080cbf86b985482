"""A FastAPI backend that confirms the number a web page proved with the Authmatech Web SDK.

The page runs ``sdk.startHeaderEnrichment(...)`` and posts what it resolves to, plus the
number the customer typed, to ``POST /api/verify``::

    {"authmatechCode": "...", "MNOID": "ZAIN_JO", "sdkSessionId": "...",
     "mobileNumber": "+962791234567"}

The backend asks Authmatech (``authmatechCode`` is the ``encryptedMobileNumber``, ``MNOID`` the
``operatorId``) and answers ``{"validNumber": true}`` or ``{"validNumber": false}``.

The app owns one ``authmatech.AsyncClient`` for its whole lifespan: created when the app
starts, closed when it stops. Run it with credentials from the environment::

    export AUTHMATECH_CLIENT_ID=... AUTHMATECH_API_KEY=...
    uvicorn examples.fastapi_app:app

or build it with :func:`create_app` to pass your own client or ``httpx.AsyncClient``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

import authmatech
from authmatech.core import check_e164, mask_phone

__all__ = ["VerifyRequest", "VerifyResponse", "app", "create_app"]

logger = logging.getLogger("examples.fastapi_app")

#: Why numbers are verified here; Authmatech uses it for analytics and risk context.
SERVICE_TYPE = authmatech.ServiceType.LOGIN

INVALID_NUMBER = (
    "mobileNumber must be in international E.164 format: '+', the country code and the "
    "number, digits only, e.g. +962791234567"
)


class VerifyRequest(BaseModel):
    """What the page forwards, under the Web SDK's names."""

    model_config = ConfigDict(extra="ignore")

    authmatech_code: str = Field(alias="authmatechCode", min_length=1, max_length=8192)
    mno_id: str | None = Field(default=None, alias="MNOID", max_length=128)
    sdk_session_id: str | None = Field(default=None, alias="sdkSessionId", max_length=256)
    mobile_number: str = Field(alias="mobileNumber", min_length=1, max_length=64)


class VerifyResponse(BaseModel):
    """The verdict. ``validNumber: false`` means the proof is not for this number."""

    valid_number: bool = Field(serialization_alias="validNumber")


def _error(status_code: int, error: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status_code, content={"error": error, "message": message})


def error_response(exc: authmatech.AuthmatechError) -> JSONResponse:
    """Map a library error to what this API tells the browser.

    Only bad input is the caller's fault. Everything else is ours or upstream's: it is logged
    here (library messages never contain secrets) and answered without details.
    """
    if isinstance(exc, authmatech.InvalidMobileNumberError):  # the server's own check
        return _error(400, "invalid_mobile_number", INVALID_NUMBER)
    if isinstance(exc, authmatech.RequestValidationError):
        # The caller's input, refused before anything was sent. The message names the field
        # and shows the value masked; it is safe to return.
        return _error(400, "invalid_request", str(exc))
    if isinstance(exc, authmatech.APITimeoutError):
        logger.warning("Authmatech timed out (maybe processed: %s): %s", exc.maybe_processed, exc)
        return _error(504, "upstream_timeout", "Verification timed out; please try again.")
    if isinstance(exc, (authmatech.ServerError, authmatech.APIConnectionError)):
        logger.warning("Authmatech is unavailable: %s", exc)
        return _error(503, "upstream_unavailable", "Verification is unavailable; try again.")
    if isinstance(exc, authmatech.RateLimitError):
        logger.warning("Authmatech rate limit reached: %s", exc)
        response = _error(503, "upstream_busy", "Verification is busy; try again shortly.")
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return response
    # Wrong or missing credentials, a product not enabled, no balance left, an unexpected
    # answer: our misconfiguration, nothing the customer can fix. Details stay in the log.
    logger.error("Authmatech call failed: %s: %s", type(exc).__name__, exc)
    return _error(502, "upstream_error", "Verification is not available right now.")


def create_app(
    *,
    client: authmatech.AsyncClient | None = None,
    http_client: httpx.AsyncClient | None = None,
    **client_options: Any,
) -> FastAPI:
    """Build the app.

    With ``client``, that client is used as it is and its owner closes it. Otherwise the app
    creates an ``AsyncClient`` when it starts (credentials from ``client_options`` or the
    ``AUTHMATECH_*`` environment variables, over ``http_client`` if given: proxies, mTLS, a
    custom CA) and closes it when it stops. ``http_client`` itself is never closed by us.
    """
    if client is not None and (http_client is not None or client_options):
        raise TypeError("pass either client, or http_client and client options, not both")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if client is not None:
            app.state.authmatech = client
            yield
            return
        # One client per application and event loop: it holds the connection pool.
        async with authmatech.AsyncClient(http_client=http_client, **client_options) as owned:
            app.state.authmatech = owned
            yield

    app = FastAPI(title="Authmatech verification example", lifespan=lifespan)

    @app.exception_handler(authmatech.AuthmatechError)
    async def authmatech_error(request: Request, exc: authmatech.AuthmatechError) -> JSONResponse:
        return error_response(exc)

    @app.post("/api/verify", response_model=VerifyResponse)
    async def verify(body: VerifyRequest, request: Request) -> VerifyResponse | JSONResponse:
        try:
            # The library checks this too; checking it here names the JSON field.
            mobile_number = check_e164(body.mobile_number, "mobileNumber")
        except authmatech.RequestValidationError as exc:
            return _error(400, "invalid_mobile_number", str(exc))
        authmatech_client: authmatech.AsyncClient = request.app.state.authmatech
        result = await authmatech_client.verify(
            mobile_number,
            body.authmatech_code,  # passed through unchanged, as the Web SDK gave it
            operator_id=body.mno_id,
            service_type=SERVICE_TYPE,
            sdk_session_id=body.sdk_session_id,
        )
        logger.info("verified %s: %s", mask_phone(body.mobile_number), result.valid_number)
        return VerifyResponse(valid_number=result.valid_number)

    return app


#: For ``uvicorn examples.fastapi_app:app``: credentials from the environment.
app = create_app()
