"""The world documentation blocks run in: a served sandbox, an account, its environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from authmatech.sandbox import Sandbox, ServerThread


@pytest.fixture(scope="module")
def served() -> Iterator[ServerThread]:
    """One sandbox served on loopback for the module; each block gets its own account."""
    with ServerThread(Sandbox()) as server:
        yield server
