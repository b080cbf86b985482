"""Every Python code block of README.md and docs/ runs as written.

Blocks run one by one, each in a fresh namespace, in a temporary directory, with the
``AUTHMATECH_*`` variables of a fresh account on a sandbox served on loopback (so a bare
``authmatech.AsyncClient()`` works as the quickstart says). A block that awaits at top level
runs in an event loop; ``>>>`` blocks run as doctests; blocks that define ``test_*`` functions
run as a pytest suite of their own, with the library's fixtures. Markers in the Markdown
(see ``docblocks.py``) say what a block takes from the reader's application (``given``), or
that it is not run (``skip``, with the reason). A failure names the file and line of the block,
and the traceback points into the Markdown file itself.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import doctest
import gc
import inspect
import traceback
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from docblocks import ROOT, Block, MarkerError, all_blocks, blocks_of

import authmatech
from authmatech import core
from authmatech.sandbox import ServerThread

pytest_plugins = ["pytester"]

NUMBER = "+962791234567"
ENV_NAMES = (
    "AUTHMATECH_CLIENT_ID",
    "AUTHMATECH_API_KEY",
    "AUTHMATECH_CLIENT_SECRET",
    "AUTHMATECH_SDK_TOKEN",
    "AUTHMATECH_BASE_URL",
)

try:
    BLOCKS = all_blocks()
except MarkerError as error:  # reported by test_markers_are_understood
    BLOCKS = []
    MARKER_ERROR: str | None = str(error)
else:
    MARKER_ERROR = None

RUN = [b for b in BLOCKS if b.skip is None and not b.is_include and not b.is_pytest]
PYTEST = [b for b in BLOCKS if b.skip is None and b.is_pytest]


class _SecretManager:
    """The reader's secret manager, in memory."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)

    async def get(self, name: str) -> str:
        return self.values[name]

    async def put(self, name: str, value: str) -> None:
        self.values[name] = value


class _Vault:
    """The reader's vault: ``read(...)`` answers the account's API key."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def read(self, *args: object) -> str:
        return self.api_key


class _MyHttp:
    """ "Any HTTP library" of the embedding docs: urllib, to the served sandbox whatever the
    request's host (the docs build requests for the real service)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def _url(self, url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        return self.base_url + urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))

    def send(
        self, method: str, url: str, headers: Any, body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(
            self._url(url), data=body, method=method, headers=dict(headers)
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, dict(answer.headers.items()), answer.read()
        except urllib.error.HTTPError as answer:
            with answer:
                return answer.code, dict(answer.headers.items()), answer.read()


def _givens(served: ServerThread, is_async: bool) -> dict[str, Callable[[], object]]:
    """What ``given`` may name: values the docs leave to the reader's application."""
    sandbox = served.sandbox
    account = sandbox.create_account()
    proof = sandbox.device_proof(NUMBER)
    my_http = _MyHttp(served.url)

    def my_send(request: core.HttpRequest, timeout: object) -> core.HttpResponse:
        status, headers, body = my_http.send(
            request.method, request.url, request.reveal_headers(), request.reveal_body()
        )
        return core.HttpResponse(status, headers, body)

    def client() -> object:
        kind = authmatech.AsyncClient if is_async else authmatech.Client
        return kind(
            client_id=account.client_id,
            api_key=account.api_key,
            client_secret=account.client_secret,
            sdk_token=account.sdk_token,
            base_url=served.url,
        )

    return {
        # a client the page made earlier: AsyncClient in a block that awaits, else Client
        "client": client,
        # what the device SDK hands the app, for NUMBER
        "number": lambda: NUMBER,
        "typed_number": lambda: NUMBER,
        "authmatech_code": lambda: proof.encrypted_mobile_number,
        "encrypted_mobile_number": lambda: proof.encrypted_mobile_number,
        "proof": lambda: proof.encrypted_mobile_number,
        "mno_id": lambda: proof.operator_id,
        "operator_id": lambda: proof.operator_id,
        "sdk_session_id": lambda: "3f2c9d8e-6b1a-4c55-9a0e-2d7b1e4f8a90",
        "transaction_id": lambda: sandbox.web_transaction(NUMBER),
        # the account's credentials, as the reader's configuration holds them
        "client_id": lambda: account.client_id,
        "api_key": lambda: account.api_key.reveal(),
        "key": lambda: account.api_key.reveal(),
        "credentials": lambda: authmatech.Credentials(account.client_id, api_key=account.api_key),
        "secret": lambda: account.client_secret.reveal(),
        "sdk_token": lambda: account.sdk_token.reveal(),
        # the reader's infrastructure
        "secret_manager": lambda: _SecretManager({"AUTHMATECH_API_KEY": account.api_key.reveal()}),
        "vault": lambda: _Vault(account.api_key.reveal()),
        "my_http": lambda: my_http,
        "my_send": lambda: my_send,
        # inside a transport: its HTTP client and the request the core built
        "http": lambda: httpx.Client(timeout=5.0),
        "request": lambda: core.verify(NUMBER, proof.encrypted_mobile_number).build(
            authmatech.Credentials(account.client_id, api_key=account.api_key),
            core.ClientConfig(base_url=served.url),
        ),
    } | {"_env": lambda: _env(served, account)}


def _env(served: ServerThread, account: Any) -> dict[str, str]:
    return {
        "AUTHMATECH_CLIENT_ID": account.client_id,
        "AUTHMATECH_API_KEY": account.api_key.reveal(),
        "AUTHMATECH_CLIENT_SECRET": account.client_secret.reveal(),
        "AUTHMATECH_SDK_TOKEN": account.sdk_token.reveal(),
        "AUTHMATECH_BASE_URL": served.url,
    }


def _compile(block: Block) -> Any:
    """The block compiled against its Markdown file and lines, top-level ``await`` allowed."""
    tree = ast.parse(block.code, filename=str(ROOT / block.path), mode="exec")
    ast.increment_lineno(tree, block.line - 1)
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    return compile(tree, str(ROOT / block.path), "exec", flags=flags, dont_inherit=True)


def _awaits(code: Any) -> bool:
    return bool(code.co_flags & inspect.CO_COROUTINE)


def _namespace(block: Block, served: ServerThread, is_async: bool) -> dict[str, Any]:
    givens = _givens(served, is_async)
    namespace: dict[str, Any] = {"__name__": "__docs__", "__builtins__": builtins}
    for name in block.given:
        if name not in givens or name.startswith("_"):
            known = ", ".join(sorted(n for n in givens if not n.startswith("_")))
            pytest.fail(f"{block.where}: 'given {name}' is not a known name ({known})")
        namespace[name] = givens[name]()
    namespace["__env__"] = givens["_env"]()
    return namespace


def _failure(block: Block, error: BaseException) -> str:
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename == str(ROOT / block.path)
    ]
    lines = "".join(traceback.format_list(frames))
    return (
        f"{block.where}: this documentation block fails as written\n{lines}"
        f"{type(error).__name__}: {error}"
    )


def _set_env(monkeypatch: pytest.MonkeyPatch, block: Block, env: dict[str, str]) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    if not block.no_env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)


def test_markers_are_understood() -> None:
    assert MARKER_ERROR is None, MARKER_ERROR


def test_every_skip_says_why() -> None:
    skipped = [block for block in BLOCKS if block.skip is not None]
    assert all(block.skip.strip() for block in skipped)  # type: ignore[union-attr]
    assert len(skipped) <= 3, "skip is for the exception: " + ", ".join(b.where for b in skipped)


@pytest.mark.parametrize("block", RUN, ids=[block.where for block in RUN])
def test_block_runs(
    block: Block, served: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if block.is_doctest:
        namespace = _namespace(block, served, is_async=False)
        _set_env(monkeypatch, block, namespace.pop("__env__"))
        parser = doctest.DocTestParser()
        test = parser.get_doctest(
            block.code, namespace, block.where, str(ROOT / block.path), block.line - 1
        )
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        report: list[str] = []
        runner.run(test, out=report.append)
        assert runner.failures == 0, f"{block.where}: doctest failed\n" + "".join(report)
        return
    try:
        code = _compile(block)
    except SyntaxError as error:
        pytest.fail(f"{block.where}: not valid Python: {error}")
    is_async = _awaits(code)
    namespace = _namespace(block, served, is_async)
    _set_env(monkeypatch, block, namespace.pop("__env__"))
    try:
        if is_async:
            asyncio.run(_run_async(code, namespace))
        else:
            exec(code, namespace)
            _close_clients(namespace)
    except Exception as error:
        pytest.fail(_failure(block, error), pytrace=False)
    gc.collect()  # an unclosed socket is reported here, with this block's name


async def _run_async(code: Any, namespace: dict[str, Any]) -> None:
    await eval(code, namespace)
    for value in list(namespace.values()):
        if isinstance(value, authmatech.AsyncClient):
            await value.aclose()
    _close_clients(namespace)


def _close_clients(namespace: dict[str, Any]) -> None:
    """What the reader's application does at shutdown: close the clients a block left open."""
    for value in list(namespace.values()):
        if isinstance(value, (authmatech.Client, httpx.Client)):
            value.close()


def test_pytest_blocks_pass(pytester: pytest.Pytester) -> None:
    """The blocks that are tests run as tests, each file on its own, with the fixtures."""
    files = {
        f"test_{Path(block.path).stem.replace('-', '_')}_{block.line}": block.code
        for block in PYTEST
    }
    assert files
    pytester.makeini(
        "[pytest]\nfilterwarnings = error\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(**files)
    result = pytester.runpytest("-p", "no:cacheprovider", "--import-mode=importlib", "-rfE")
    outcomes = result.parseoutcomes()
    where = {name: block.where for name, block in zip(files, PYTEST, strict=True)}
    failed = [
        f"{where[line.split('::')[0].split()[-1].removesuffix('.py')]}: {line}"
        for line in result.outlines
        if line.startswith(("FAILED", "ERROR")) and "::" in line
    ]
    report = "\n".join(failed or result.outlines[-30:])
    assert not failed, "documentation tests failed:\n" + report
    assert list(outcomes) == ["passed"], "documentation tests failed:\n" + report


def test_blocks_are_found_at_their_lines_with_their_markers(tmp_path: Path) -> None:
    page = ROOT / "docs" / "_kit_probe.md"
    text = (
        "# t\n\n<!-- docs-test: given client, number; no-env -->\n```python\nx = 1\n```\n\n"
        "!!! note\n    ```py\n    y = 2\n    ```\n"
    )
    page.write_text(text, encoding="utf-8")
    try:
        first, second = blocks_of(page)
    finally:
        page.unlink()
    assert (first.where, first.given, first.no_env, first.code) == (
        "docs/_kit_probe.md:5",
        ("client", "number"),
        True,
        "x = 1\n",
    )
    assert (second.where, second.code) == ("docs/_kit_probe.md:10", "y = 2\n")


def test_a_failing_block_is_reported_at_its_markdown_line() -> None:
    block = Block("docs/quickstart.md", 40, "x = 1\nundefined_name\n")
    with pytest.raises(NameError) as caught:
        exec(_compile(block), {})
    message = _failure(block, caught.value)
    assert message.startswith("docs/quickstart.md:40: this documentation block fails")
    assert "line 41" in message
