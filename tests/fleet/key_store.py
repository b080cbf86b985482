"""The application's secret store, as the fleet rotation tests see it."""

from __future__ import annotations

import authmatech


class Store:
    """The application's secret store: a value, and reads that may lag behind a write."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.stale: list[str] = []
        self.reads = 0

    def read(self) -> str:
        self.reads += 1
        return self.stale.pop(0) if self.stale else self.value

    def write(self, key: authmatech.Secret) -> None:
        self.value = key.reveal()
