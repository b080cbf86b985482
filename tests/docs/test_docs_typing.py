"""The embedding guide's synchronous driver type-checks under ``mypy --strict``, as written:
the flow's send type and its result type flow through to ``run``'s callers."""

from __future__ import annotations

import re
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- docs-test: given credentials, proof, my_send -->"

#: The values the guide's block takes from the reader's SDK, declared with their types.
GIVEN = """\
from authmatech import Credentials as _Credentials, core as _core

credentials: _Credentials
proof: str


def my_send(request: _core.HttpRequest, timeout: _core.Timeout) -> _core.HttpResponse:
    raise NotImplementedError


"""
#: What the block's ``run`` must give its callers: the call's own result type.
CHECK = """

from authmatech.models import VerifyResult as _VerifyResult

_typed: _VerifyResult = result
reveal_type(result)
"""


def _driver_block() -> str:
    text = (ROOT / "docs" / "embedding.md").read_text(encoding="utf-8")
    after = text.split(MARKER, 1)[1]
    match = re.match(r"\s*```python\n(.*?)```", after, re.S)
    assert match, "the driver block follows its docs-test marker"
    return match.group(1)


def test_the_embedding_driver_passes_mypy_strict(tmp_path: Path) -> None:
    source = tmp_path / "driver.py"
    source.write_text(GIVEN + _driver_block() + CHECK, encoding="utf-8")
    stdout, stderr, status = api.run(
        ["--strict", "--cache-dir", str(ROOT / ".mypy_cache"), "--no-error-summary", str(source)]
    )
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert not errors, stdout + stderr
    assert 'Revealed type is "authmatech.models.VerifyResult"' in stdout, stdout
    assert status == 0, stdout + stderr
