"""Connect CRM synchronization (``/v1/api/me/connect/**``, product ``CONNECT``).

``import/start`` needs ``fieldMappings`` (an object of string to string) and a non-empty
``jobId`` (any id is accepted: the upload step that issues it is undocumented).
``integrations`` validates the documented constraints (``displayName`` 1-100 characters and
``integrationType`` at least 1, both required; ``endpointUrl`` an http(s) URL when sent;
``batchSize`` 1-10000) and stores the integration's ``apiKey`` only as a digest: the answer
says ``hasApiKey`` and never returns the key.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..core import _limits
from ._body import Fields
from ._call import Call, Ok
from ._envelope import ApiError
from ._products import CONNECT
from ._state import digest

__all__ = ["create_integration", "start_import"]


def _mappings(body: Fields) -> dict[str, str]:
    mappings = body.raw().get("fieldMappings")
    if not isinstance(mappings, dict):
        raise ApiError(400, "fieldMappings is required.")
    result: dict[str, str] = {}
    for source, target in mappings.items():  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(source, str) or not isinstance(target, str):
            raise ApiError(400, "fieldMappings must map field names to field names.")
        if max(len(source), len(target)) > _limits.TEXT_MAX:
            limit = _limits.TEXT_MAX
            raise ApiError(400, f"fieldMappings names must be at most {limit} characters.")
        result[source] = target
    return result


def start_import(call: Call) -> Ok:
    """``POST /v1/api/me/connect/import/start``."""
    call.require_product(CONNECT)
    body = call.body()
    job_id = body.required_str("jobId", max_length=_limits.ID_MAX)
    mappings = _mappings(body)
    call.account.imports.append({"jobId": job_id, "startedAt": call.timestamp})
    return Ok(
        data={"jobId": job_id, "status": "STARTED", "mappedFields": len(mappings)},
    )


def create_integration(call: Call) -> Ok:
    """``POST /v1/api/me/connect/integrations``."""
    call.require_product(CONNECT)
    body = call.body()
    display_name = body.required_str(
        "displayName", min_length=1, max_length=_limits.DISPLAY_NAME_MAX
    )
    integration_type = body.required_str(
        "integrationType", min_length=1, max_length=_limits.INTEGRATION_TYPE_MAX
    )
    endpoint_url = body.optional_str("endpointUrl", max_length=_limits.ENDPOINT_URL_MAX)
    if endpoint_url is not None:
        parts = urlsplit(endpoint_url)
        if parts.scheme not in _limits.ENDPOINT_URL_SCHEMES or not parts.netloc:
            raise ApiError(400, "endpointUrl must be an http or https URL.")
    http_method = body.optional_str("httpMethod", max_length=_limits.HTTP_METHOD_MAX)
    api_key = body.optional_str("apiKey", max_length=_limits.API_KEY_MAX)
    trigger_event = body.optional_str("triggerEvent", max_length=_limits.TRIGGER_EVENT_MAX)
    mappings = _mappings(body) if body.raw().get("fieldMappings") is not None else None
    batch_size = body.optional_int(
        "batchSize", minimum=_limits.BATCH_SIZE_MIN, maximum=_limits.BATCH_SIZE_MAX
    )
    matched_only = body.optional_bool("matchedOnly")
    integration: dict[str, object] = {
        "integrationId": call.world.ids.uuid(),
        "displayName": display_name,
        "integrationType": integration_type,
        "endpointUrl": endpoint_url,
        "httpMethod": None if http_method is None else http_method.upper(),
        "triggerEvent": trigger_event,
        "fieldMappings": mappings,
        "batchSize": batch_size,
        "matchedOnly": matched_only,
        "hasApiKey": api_key is not None,
        "createdAt": call.timestamp,
    }
    stored = dict(integration)
    if api_key is not None:
        stored["apiKeyDigest"] = digest(api_key).hex()
    call.account.integrations.append(stored)
    return Ok(data=integration)
