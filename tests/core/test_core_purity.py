"""Rule 11: the core is sans-IO: no HTTP library, no event loop, no clock, no sleeping.

Checked statically (every ``import`` in ``authmatech/core`` and in the library modules it
imports) and dynamically (a subprocess imports ``authmatech.core`` without running
``authmatech/__init__.py``, which imports the clients and so httpx and anyio).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import authmatech

PACKAGE = Path(authmatech.__file__).parent
CORE = PACKAGE / "core"

FORBIDDEN = {
    "httpx",
    "httpcore",
    "h11",
    "h2",
    "anyio",
    "sniffio",
    "aiohttp",
    "trio",
    "asyncio",
    "requests",
    "urllib3",
    "ssl",
    "socket",
    "select",
    "selectors",
    "time",
    "threading",
    "concurrent",
    "multiprocessing",
    "subprocess",
}
#: library modules the core may import (relative imports leaving ``core``)
ALLOWED_PARENT_MODULES = {
    "credentials",
    "errors",
    "models",
    "_convert",
    "_mask",
    "_received",
    "_repr",
    "_version",
}
#: calls that read a clock or block (``datetime.now()``, a bare ``sleep()``...); the injected
#: ``clock.monotonic()`` / ``clock.wall()`` are what the core uses instead
FORBIDDEN_CALLS = {"sleep", "monotonic", "perf_counter", "now", "utcnow", "today", "time_ns"}
CLOCK_OWNERS = {"time", "datetime", "date", "asyncio", "anyio", "trio", "os"}


def imports_of(path: Path) -> list[tuple[str, int]]:
    """``(dotted name, level)`` of every import in ``path`` (level > 0 for relative ones)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level and not base:  # "from .. import models"
                found += [(alias.name, node.level) for alias in node.names]
            else:
                found.append((base, node.level))
    return found


def core_closure() -> list[Path]:
    """The files of ``authmatech/core`` plus every library module they import."""
    files = sorted(CORE.glob("*.py"))
    extra = {PACKAGE / f"{name}.py" for name in ALLOWED_PARENT_MODULES}
    return files + sorted(path for path in extra if path.exists())


CLOSURE = core_closure()


def test_the_closure_is_what_we_think() -> None:
    names = {path.name for path in CLOSURE}
    assert {
        "__init__.py",
        "_calls.py",
        "_flow.py",
        "_http.py",
        "_operations.py",
        "_redact.py",
        "_request.py",
        "_response.py",
        "_retry.py",
        "_validate.py",
        "credentials.py",
        "errors.py",
        "models.py",
        "_convert.py",
        "_mask.py",
        "_received.py",
    } <= names


@pytest.mark.parametrize("path", CLOSURE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_io_library_is_imported(path: Path) -> None:
    for name, level in imports_of(path):
        if level:
            continue
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{path.name} imports {name}"


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_imports_only_core_and_pure_library_modules(path: Path) -> None:
    for name, level in imports_of(path):
        if level == 1:  # inside core
            assert (CORE / f"{name.split('.')[0]}.py").exists(), f"{path.name}: .{name}"
        elif level == 2:  # authmatech.<module>
            assert name.split(".")[0] in ALLOWED_PARENT_MODULES, f"{path.name} imports ..{name}"
        else:
            assert level == 0
            assert not name.startswith("authmatech"), f"{path.name} imports {name} absolutely"


def clock_calls(source: str) -> list[str]:
    """Calls in ``source`` that read a clock or sleep, as ``"line: call()"``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
            found.append(f"{node.lineno}: {func.id}()")
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in CLOCK_OWNERS
            and func.attr in FORBIDDEN_CALLS
        ):
            found.append(f"{node.lineno}: {func.value.id}.{func.attr}()")
    return found


@pytest.mark.parametrize("path", CLOSURE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_clock_reads_or_sleeps(path: Path) -> None:
    assert clock_calls(path.read_text(encoding="utf-8")) == []


def test_the_clock_check_sees_clock_reads() -> None:
    source = (
        "time.sleep(1)\nx = datetime.now()\nsleep(2)\nclock.monotonic()\n"
        "y = asyncio.sleep(0)\nclock.wall()\n"
    )
    assert clock_calls(source) == [
        "1: time.sleep()",
        "2: datetime.now()",
        "3: sleep()",
        "5: asyncio.sleep()",
    ]


def test_the_static_check_sees_forbidden_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import time\nfrom httpx import Client\nimport anyio.abc\nfrom . import _http\n"
        "from .. import models\nfrom ..transports import x\n"
    )
    assert imports_of(sample) == [
        ("time", 0),
        ("httpx", 0),
        ("anyio.abc", 0),
        ("_http", 1),
        ("models", 2),
        ("transports", 2),
    ]


SCRIPT = """
import importlib.util, json, sys, types
from pathlib import Path

package_dir = Path(sys.argv[1])
import attrs, cattrs  # the core's own dependencies (attrs imports subprocess on Python 3.10)
before = set(sys.modules)
# stand-in for authmatech/__init__.py (which imports the clients, hence httpx and anyio)
stub = types.ModuleType("authmatech")
stub.__path__ = [str(package_dir)]
sys.modules["authmatech"] = stub
import authmatech.core
assert authmatech.core.__file__.startswith(str(package_dir))
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_importing_the_core_loads_no_io_library() -> None:
    completed = subprocess.run(
        [sys.executable, "-I", "-c", SCRIPT, str(PACKAGE)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    new_modules = json.loads(completed.stdout)
    assert "authmatech.core" in new_modules
    assert not any(name.startswith("authmatech.transports") for name in new_modules)
    assert "authmatech._client" not in new_modules
    assert "authmatech._async_client" not in new_modules
    # ``socket`` is left out: the stdlib's email.utils (Retry-After dates) imports it.
    loaded_io = {
        name
        for name in new_modules
        if name.split(".")[0] in FORBIDDEN - {"socket", "time", "threading", "select", "selectors"}
    }
    assert loaded_io == set()
