"""Python code blocks of the Markdown documentation, with the markers that say how to run them.

A fenced block (```` ```python ````, ```` ```py ```` or ```` ```pycon ````, at any indent, e.g.
inside an admonition) may be preceded, on the line right above its fence, by one marker::

    <!-- docs-test: given client, number, authmatech_code -->
    <!-- docs-test: no-env -->
    <!-- docs-test: skip needs your CA bundle and proxy -->

``given`` names values that come from the reader's application (a client made elsewhere, the
device SDK's proof); the test supplies each from the sandbox. ``no-env`` runs the block without
any ``AUTHMATECH_*`` variable. ``skip`` needs a reason and leaves the block unrun. Several
markers may be combined in one comment, separated by ``;``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = {"python", "py", "pycon"}

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<ticks>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)(?P<rest>.*)$")
_MARKER = re.compile(r"^\s*<!--\s*docs-test:(?P<body>.*?)-->\s*$")


class MarkerError(ValueError):
    """A ``docs-test`` marker that cannot be understood."""


@dataclass(frozen=True)
class Block:
    """One Python code block: where it is, its code (dedented), and its markers."""

    path: str  # relative to the repository root
    line: int  # 1-based line of the first line of code (the line after the fence)
    code: str
    given: tuple[str, ...] = ()
    skip: str | None = None
    no_env: bool = False
    flags: tuple[str, ...] = field(default=())

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def is_doctest(self) -> bool:
        return self.code.lstrip().startswith(">>>")

    @property
    def is_include(self) -> bool:
        """A block that only includes a file (``--8<--``): that file is tested on its own."""
        lines = [line for line in self.code.splitlines() if line.strip()]
        return bool(lines) and all(line.strip().startswith("--8<--") for line in lines)

    @property
    def is_pytest(self) -> bool:
        return re.search(r"^(async )?def test_\w+\(", self.code, re.MULTILINE) is not None


def _dedent(line: str, indent: str) -> str:
    return line[len(indent) :] if line.startswith(indent) else line.lstrip()


def _parse_marker(text: str, where: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for part in filter(None, (piece.strip() for piece in text.split(";"))):
        word, _, rest = part.partition(" ")
        rest = rest.strip()
        if word == "given" and rest:
            found["given"] = tuple(name.strip() for name in rest.split(",") if name.strip())
        elif word == "skip" and rest:
            found["skip"] = rest
        elif word == "no-env" and not rest:
            found["no_env"] = True
        else:
            raise MarkerError(
                f"{where}: docs-test marker {part!r} not understood: use 'given NAME, ...', "
                "'no-env' or 'skip REASON'"
            )
    return found


def blocks_of(path: Path) -> list[Block]:
    """Every Python code block of one Markdown file, in order."""
    rel = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        indent, ticks, lang = match["indent"], match["ticks"], match["lang"].lower()
        start = index + 1
        end = start
        while end < len(lines) and not (
            lines[end].strip().startswith(ticks) and not lines[end].strip().strip(ticks[0])
        ):
            end += 1
        if lang in PYTHON:
            body = [
                line[len(indent) :] if line.startswith(indent) else line.lstrip()
                for line in lines[start:end]
            ]
            marker = _MARKER.match(lines[index - 1]) if index else None
            options = _parse_marker(marker["body"], f"{rel}:{index}") if marker else {}
            found.append(Block(rel, start + 1, "\n".join(body) + "\n", **options))  # type: ignore[arg-type]
        index = end + 1
    return found


def documentation_files() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def all_blocks() -> list[Block]:
    return [block for path in documentation_files() for block in blocks_of(path)]
