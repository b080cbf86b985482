"""A constructor that raises leaves its ``self`` half built, as a local of the failing frame.
Locals renderers (``TracebackException(capture_locals=True)``, ``rich.traceback``, error
reporters) call ``repr`` on it: that repr must not raise, or the user's error report crashes
(Python 3.10-3.12 do not guard it)."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import pytest

import authmatech
from authmatech import Credentials, RateBudget, Secret, core
from authmatech.fleet import AsyncRedisRateBudget, RedisRateBudget

BAD_KEY = "ak_1 2"
KINDS = (
    authmatech.Client,
    authmatech.AsyncClient,
    Credentials,
    Secret,
    RateBudget,
    core.ClientConfig,
    core.Call,
    core.HttpRequest,
    core.HttpResponse,
    RedisRateBudget,
    AsyncRedisRateBudget,
)
BAD: dict[str, Callable[[], Any]] = {
    "Client": lambda: authmatech.Client(client_id="cl_1", api_key=BAD_KEY),
    "AsyncClient": lambda: authmatech.AsyncClient(client_id="cl_1", api_key=BAD_KEY),
    "Credentials": lambda: Credentials("cl_1", api_key=BAD_KEY),
    "Secret": lambda: Secret(5),  # type: ignore[arg-type]
    "RateBudget": lambda: RateBudget(limit=0),
    "ClientConfig": lambda: core.ClientConfig(base_url="ftp://x"),
    "Call": lambda: core.Call(operation=None),  # type: ignore[arg-type]
    "HttpResponse": lambda: core.HttpResponse("200", {}, b""),  # type: ignore[arg-type]
    "RedisRateBudget": lambda: RedisRateBudget("redis://127.0.0.1:1", client_id="c", limit=0),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_failed_constructor_leaves_a_repr_that_renders(name: str) -> None:
    with pytest.raises(authmatech.AuthmatechError) as caught:
        BAD[name]()
    frames = traceback.TracebackException.from_exception(caught.value, capture_locals=True)
    rendered = "".join(frames.format())
    assert BAD_KEY not in rendered


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_a_half_built_object_reads_incomplete(kind: type) -> None:
    assert repr(object.__new__(kind)) == f"<{kind.__name__} (incomplete)>"
