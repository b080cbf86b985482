"""A real ``os.fork()`` for tests: the child runs a function and sends back its JSON outcome."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable


def fork(child: Callable[[], object]) -> tuple[int, int]:
    """Fork; the child runs ``child`` and writes its outcome to a pipe. Returns (pid, read fd)."""
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+: "this process is multi-threaded"
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's side
        os.close(read)
        try:
            outcome: object = child()
        except BaseException as error:
            outcome = f"{type(error).__name__}: {error}"
        os.write(write, json.dumps(outcome).encode())
        os._exit(0)
    os.close(write)
    return pid, read


def child_outcome(pid: int, read: int) -> object:
    """What the child of :func:`fork` sent back, once it has exited cleanly."""
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return json.loads(b"".join(chunks))
