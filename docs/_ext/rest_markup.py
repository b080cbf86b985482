"""A griffe extension that renders the library's reST docstring markup as Markdown.

The library's docstrings use a little reST (Sphinx roles such as :class:`Secret`, literal
blocks introduced by ``::`` and doctest blocks). mkdocstrings renders docstrings as Markdown,
so this extension rewrites them when griffe loads each object, leaving the source untouched:

* a role becomes an optional cross-reference: a link when its target is rendered in the
  reference, inline code otherwise (``~`` keeps only the last component, as in Sphinx);
* a paragraph ending in ``::`` followed by an indented block becomes a fenced Python block;
* a doctest block (``>>>`` lines and their output) becomes a fenced ``pycon`` block.
"""

from __future__ import annotations

import html
import re
import textwrap
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?P<kind>class|meth|func|mod|attr|exc|data|obj):`(?P<short>~?)(?P<target>[^`]+)`"
)
_CALLABLE = {"meth", "func"}


def _public_module(path: str) -> str:
    """``authmatech.sandbox`` for ``authmatech.sandbox._sandbox.Sandbox.handle``."""
    parts: list[str] = []
    for part in path.split("."):
        if part.startswith("_"):
            break
        parts.append(part)
    return ".".join(parts[:2]) if len(parts) >= 2 else "authmatech"


def _identifier(target: str, obj: griffe.Object) -> str:
    """Where a role's target most likely lives in the rendered reference."""
    if target.startswith("authmatech.") or target == "authmatech":
        return target
    module = _public_module(obj.canonical_path)
    owner = obj if obj.is_class else obj.parent if isinstance(obj.parent, griffe.Class) else None
    if owner is not None and "." not in target and not target[:1].isupper():
        return f"{module}.{owner.name}.{target}"
    return f"{module}.{target}"


def _role(match: re.Match[str], obj: griffe.Object) -> str:
    target = match["target"]
    shown = target.rsplit(".", 1)[-1] if match["short"] else target
    if match["kind"] in _CALLABLE:
        shown = f"{shown}()"
    # An optional autoref: a link when the target is rendered somewhere, plain code otherwise
    # (never a warning, so an unrendered or private target cannot break the strict build).
    return (
        f'<autoref identifier="{_identifier(target, obj)}" optional>'
        f"<code>{html.escape(shown)}</code></autoref>"
    )


def _literal_blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.rstrip().endswith("::") and not line.lstrip().startswith(">>>"):
            text = line.rstrip()[:-2].rstrip()
            out.append(text + ":" if text else "")
            index += 1
            block: list[str] = []
            while index < len(lines) and (not lines[index].strip() or lines[index][:1] == " "):
                block.append(lines[index])
                index += 1
            code = textwrap.dedent("\n".join(block)).strip("\n")
            out.extend(["", "```python", *code.splitlines(), "```", ""])
            continue
        out.append(line)
        index += 1
    return out


def _doctests(lines: list[str]) -> list[str]:
    out: list[str] = []
    index = 0
    in_fence = False
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.lstrip().startswith(">>>"):
            indent = len(line) - len(line.lstrip())
            block: list[str] = []
            while index < len(lines) and lines[index].strip():
                block.append(lines[index][indent:])
                index += 1
            out.extend(["```pycon", *block, "```"])
            continue
        out.append(line)
        index += 1
    return out


def to_markdown(text: str, obj: griffe.Object) -> str:
    """The docstring ``text`` of ``obj`` with its reST markup rewritten as Markdown."""
    lines = _doctests(_literal_blocks(text.splitlines()))
    result: list[str] = []
    in_fence = False
    for line in lines:
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        result.append(line if in_fence else _ROLE.sub(lambda match: _role(match, obj), line))
    return "\n".join(result)


class RestMarkup(griffe.Extension):
    """Rewrite every loaded docstring (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value, obj)
