"""Helpers for the example tests: loading the examples (not a package) from their files, and
serving an ASGI app with a real uvicorn on loopback."""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["EXAMPLES", "AppServer", "load_example"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` once, as the module ``authmatech_examples_<name>``."""
    module_name = f"authmatech_examples_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # pydantic and dataclasses look their module up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


class AppServer:
    """An ASGI app served by uvicorn from a thread on 127.0.0.1 (uvicorn skips signal
    handlers outside the main thread)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(
            app,
            lifespan="on",
            loop="asyncio",
            http="h11",
            ws="none",
            log_config=None,
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="uvicorn", daemon=True
        )

    def start(self) -> None:
        """Start serving; returns once the app's lifespan has started."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("uvicorn did not start (see the log above)")
            time.sleep(0.005)

    def stop(self) -> None:
        """Shut down (running the app's lifespan shutdown); safe to call twice."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(10)
            assert not self._thread.is_alive(), "uvicorn did not stop"
        self._sock.close()
