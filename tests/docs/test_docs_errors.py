"""The error documentation is complete: the errors page's tree names every exception class,
and the quickstart's error handling covers every error a verify call can raise."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import authmatech
from authmatech import errors

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _tree() -> str:
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    match = re.search(r"```\nAuthmatechError\n(.*?)```", text, re.S)
    assert match, "the errors page starts with the exception tree"
    return match.group(1)


def test_the_errors_page_tree_names_every_exception_class() -> None:
    tree = _tree()
    listed = set(re.findall(r"[├└]── (\w+)", tree))
    raised = {n for n in errors.__all__ if issubclass(getattr(errors, n), errors.AuthmatechError)}
    assert listed == raised - {"AuthmatechError"}


def test_the_errors_page_names_every_other_exported_exception() -> None:
    """``UnderlyingError`` is never raised, only chained: the page says so outside the tree."""
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    others = {
        n for n in errors.__all__ if not issubclass(getattr(errors, n), errors.AuthmatechError)
    }
    assert others == {"UnderlyingError"}
    assert all(f"[`{name}`]" in text for name in others)


def _quickstart_handlers() -> list[type[BaseException]]:
    text = (DOCS / "quickstart.md").read_text(encoding="utf-8")
    section = text.split("## 6. Handle failures", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code
    handlers: list[type[BaseException]] = []
    tree = ast.parse(code.group(1).replace("await ", ""))
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Attribute):
            handlers.append(getattr(authmatech, node.type.attr))
    return handlers


def test_the_quickstart_handles_every_error_a_verify_can_raise_after_validation() -> None:
    handlers = tuple(_quickstart_handlers())
    raised_by_verify = [
        errors.RequestValidationError,
        errors.AuthenticationError,
        errors.APIConnectionError,
        errors.APITimeoutError,
        errors.ServerError,
        errors.RateLimitError,
        errors.FeatureNotEnabledError,
        errors.RedirectError,
        errors.ResponseValidationError,
    ]
    missing = [kind.__name__ for kind in raised_by_verify if not issubclass(kind, handlers)]
    assert not missing, f"the quickstart's error handling misses {missing}"
