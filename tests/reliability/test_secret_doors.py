"""Secrets never leave, whatever renders the library's objects (issue 11, items 4 to 6).

A hostile loopback server answers every way a call can fail (reset, close, timeout, 401, 429,
5xx, a body that is not JSON, a broken status line) and echoes the request it got (the API key,
the rotation body with the client secret, the Connect integration key) into everything it
sends back: the error message, the code, a request-id header, the status line. Under every
driver and transport, with the root logger at DEBUG, the error that comes out must hold none
of those secrets in:

* its ``str``/``repr``, its formatted traceback, ``pickle.dumps``;
* the locals of its frames as ``traceback.TracebackException(capture_locals=True)``,
  ``pytest -l`` and ``rich.traceback`` (``show_locals=True``) show them, causes included;
* anything reachable from the library's frames and objects (attributes, ``__slots__``, attrs
  fields, containers), which is what a debugger or ``attrs.asdict`` would show;

and no log record, from any logger, may hold a secret or an unmasked phone number.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import re
import socket
import traceback
import types
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import attrs
import pytest

import authmatech
from authmatech import Secret, Timeout
from authmatech.cli import main as cli_main
from authmatech.models import ConnectIntegration

from .support import DRIVERS, NUMBER, RawRequest, RawServer, drain, make_client, owned_transport
from .support import backend_of as _backend_of

API_KEY = "ak_door_0123456789abcdefSECRET"
CLIENT_SECRET = "cs_door_0123456789abcdefSECRET"
CRM_KEY = "crm_door_0123456789abcdefSECRET"
SECRETS = (API_KEY, CLIENT_SECRET, CRM_KEY)
RAW_NUMBER = re.compile(r"(?:\+|%2[Bb])[1-9][0-9]{6,14}")
QUICK = Timeout(connect=1, read=0.3, write=1, pool=1, total=2)


def _echo(request: RawRequest) -> str:
    """What the hostile server repeats back: the key, the whole body, the number."""
    body = request.body.decode("latin-1").replace("\r", " ").replace("\n", " ")
    return f"{request.headers.get('x-api-key', '')} {body} {NUMBER} {request.target}"


def _envelope(echo: str) -> bytes:
    import json

    message = {"type": "FAILURE", "code": f"E_{echo}", "message": f"refused {echo}"}
    return json.dumps({"success": False, "messages": [message], "data": None}).encode()


def _answer(status: int, body: bytes, echo: str, *extra: str) -> bytes:
    reason = echo.encode("latin-1")[:200].decode("latin-1")
    head = [
        f"HTTP/1.1 {status} Echo {reason}",
        f"Content-Length: {len(body)}",
        f"X-Request-Id: req {echo}"[:4000],
        f"X-Echo: {echo}"[:4000],
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def _hostile(kind: str) -> Callable[[socket.socket, RawRequest], bool]:
    def handle(conn: socket.socket, request: RawRequest) -> bool:
        echo = _echo(request)
        if kind in ("401", "500"):
            conn.sendall(_answer(int(kind), _envelope(echo), echo))
        elif kind == "429":
            conn.sendall(_answer(429, _envelope(echo), echo, "Retry-After: 0"))
        elif kind == "bad body":
            conn.sendall(_answer(200, f"<html>{echo}</html>".encode("latin-1"), echo))
        elif kind == "status line":
            conn.sendall(f"NOT HTTP {echo}\r\n\r\n".encode("latin-1"))
        elif kind == "reset":
            from tests.raw_server import reset_connection

            reset_connection(conn)
        elif kind == "timeout":
            drain(conn)
        return False  # "close": and every other kind ends the connection

    return handle


KINDS = ("401", "429", "500", "bad body", "status line", "reset", "close", "timeout")

INTEGRATION = ConnectIntegration(
    display_name="CRM",
    integration_type="WEBHOOK",
    endpoint_url="https://crm.example/hook",
    api_key=Secret(CRM_KEY),
)

CALLS: dict[str, Callable[[Any], Any]] = {
    "verifications by number": lambda client: client.account.verifications(
        {"mobileNumber": NUMBER}
    ),
    "rotate": lambda client: client.account.rotate_api_key(),
    "connect": lambda client: client.connect.create_integration(INTEGRATION),
}


def _options(url: str) -> dict[str, Any]:
    return {
        "client_id": "cl_door",
        "api_key": Secret(API_KEY),
        "client_secret": Secret(CLIENT_SECRET),
        "base_url": url,
        "timeout": QUICK,
        "max_retries": 0,
    }


def _attempt(driver: str, url: str, call: Callable[[Any], Any]) -> BaseException:
    """Run ``call`` once; return the error (the test frames hold no raw secret)."""
    if driver.startswith("sync"):
        with make_client(driver, **_options(url)) as client:
            try:
                call(client)
            except authmatech.AuthmatechError as error:
                return error
        raise AssertionError("the call should have failed")

    async def main() -> BaseException:
        async with make_client(driver, **_options(url)) as client, owned_transport(client):
            try:
                await call(client)
            except authmatech.AuthmatechError as error:
                return error
        raise AssertionError("the call should have failed")

    import anyio

    return anyio.run(main, backend=_backend_of(driver))


# --- what may show a secret --------------------------------------------------------------


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _frames(error: BaseException) -> Iterator[types.FrameType]:
    for link in _chain(error):
        tb = link.__traceback__
        while tb is not None:
            yield tb.tb_frame
            tb = tb.tb_next


def _renderings(error: BaseException) -> Iterator[tuple[str, str]]:
    yield "str", str(error)
    yield "repr", repr(error)
    yield "format_exception", "".join(traceback.format_exception(error))
    yield (
        "capture_locals",
        "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format()),
    )
    from _pytest._code import ExceptionInfo

    info = ExceptionInfo.from_exception(error)
    yield "pytest -l", str(info.getrepr(showlocals=True, style="long", chain=True))
    yield "rich show_locals", _rich(error)
    yield "pickle", pickle.dumps(error).decode("latin-1")


def _rich(error: BaseException) -> str:
    """What ``rich.traceback`` with ``show_locals=True`` shows of the error: its chain and each
    frame's locals as rich prints them (extracted, not drawn: drawing only lays out and
    highlights the same text, and took most of this test's time)."""
    from rich.traceback import Traceback

    trace = Traceback.extract(
        type(error),
        error,
        error.__traceback__,
        show_locals=True,
        locals_max_length=1000,
        locals_max_string=100_000,
    )
    shown: list[str] = []
    for stack in trace.stacks:
        shown.append(f"{stack.exc_type}: {stack.exc_value}")
        for frame in stack.frames:
            for name, node in (frame.locals or {}).items():
                shown.append(f"{frame.name} {name} = {node.render(max_width=300)}")
    return "\n".join(shown)


_OPAQUE = (
    int,
    float,
    type,
    types.ModuleType,
    types.FunctionType,
    types.MethodType,
    types.BuiltinFunctionType,
    types.CodeType,
)


def _reachable(roots: list[tuple[str, object]]) -> Iterator[tuple[str, str]]:
    """Every str/bytes reachable from ``roots`` through the library's objects (attributes,
    slots, attrs fields, containers, exceptions); other libraries' objects by ``repr`` only."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        path, value = stack.pop()
        if id(value) in seen or path.count(".") > 14:
            continue
        seen.add(id(value))
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, (bytes, bytearray)):
            yield path, bytes(value).decode("latin-1")
        elif isinstance(value, _OPAQUE):
            continue
        elif isinstance(value, dict):
            stack += [(f"{path}[{k!r}]", v) for k, v in value.items()]
            stack += [(f"{path}.key", k) for k in value]
        elif isinstance(value, (list, tuple, set, frozenset)):
            stack += [(f"{path}[{i}]", v) for i, v in enumerate(value)]
        elif isinstance(value, BaseException) or type(value).__module__.startswith("authmatech"):
            stack += list(_members(path, value))
        else:
            yield f"{path} (repr)", repr(value)


def _members(path: str, value: object) -> Iterator[tuple[str, object]]:
    if isinstance(value, BaseException):
        yield f"{path}.args", value.args
        yield f"{path}.__cause__", value.__cause__
        yield f"{path}.__context__", value.__context__
    yield f"{path}.__dict__", getattr(value, "__dict__", None)
    for cls in type(value).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if hasattr(value, slot):
                yield f"{path}.{slot}", getattr(value, slot)
    if attrs.has(type(value)) and all(hasattr(value, f.name) for f in attrs.fields(type(value))):
        yield f"{path} (attrs.asdict)", attrs.asdict(value, recurse=True)  # type: ignore[arg-type]
    try:
        data = pickle.dumps(value)
    except (TypeError, AttributeError, pickle.PicklingError):  # refusing is the point
        return
    yield f"{path} (pickle)", data


def _leaks(error: BaseException) -> list[str]:
    texts = list(_renderings(error))
    frames = [f for f in _frames(error) if "/authmatech/" in f.f_code.co_filename]
    roots: list[tuple[str, object]] = [("error", error)]
    for frame in frames:
        roots += [(f"{frame.f_code.co_name}:{name}", v) for name, v in frame.f_locals.items()]
    texts += list(_reachable(roots))
    return [
        f"{where}: {secret[:10]}..."
        for where, text in texts
        for secret in SECRETS
        if secret in text
    ]


@pytest.fixture
def root_at_debug() -> Iterator[list[logging.LogRecord]]:
    """The root logger at DEBUG, as an application that logs everything sets it."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            self.format(record)  # formats exc_info as a real handler would
            records.append(record)

    root = logging.getLogger()
    handler = Keep(logging.DEBUG)
    level = root.level
    touched = ("httpx", "httpcore", "aiohttp", "asyncio", "authmatech", "hpack")
    levels = {name: logging.getLogger(name).level for name in touched}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in touched:
        logging.getLogger(name).setLevel(logging.NOTSET)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)


def _log_leaks(records: list[logging.LogRecord]) -> list[str]:
    leaks = []
    for record in records:
        text = f"{record.getMessage()} {record.exc_text or ''}"
        leaks += [f"{record.name}: {s[:10]}..." for s in SECRETS if s in text]
        if RAW_NUMBER.search(text):
            leaks.append(f"{record.name}: unmasked number in {text[:300]!r}")
    return leaks


@pytest.mark.parametrize("driver", DRIVERS)
def test_no_secret_reaches_errors_locals_objects_or_logs(
    driver: str, root_at_debug: list[logging.LogRecord]
) -> None:
    leaks: list[str] = []
    for kind in KINDS:
        with RawServer(_hostile(kind)) as server:
            for name, call in CALLS.items():
                if name == "verifications by number" and kind not in ("500", "timeout"):
                    continue  # the number in the URL matters for the logs only
                error = _attempt(driver, server.url, call)
                assert isinstance(error, authmatech.AuthmatechError), (kind, name, error)
                leaks += [f"{kind} / {name}: {leak}" for leak in _leaks(error)]
                del error
    assert any(r.name.startswith(("httpcore", "httpx", "aiohttp")) for r in root_at_debug) or (
        driver == "aiohttp"
    )
    leaks += _log_leaks(root_at_debug)
    assert not leaks, f"{len(leaks)} leaks, e.g. " + "\n".join(leaks[:12])


def test_echoed_secrets_are_scrubbed_from_the_error_and_its_text_is_bounded() -> None:
    """The server's text in the error is its own, minus every secret the request carried."""
    with RawServer(_hostile("500")) as server:
        error = _attempt("sync", server.url, CALLS["rotate"])
    assert isinstance(error, authmatech.ServerError)
    fingerprint = Secret(CLIENT_SECRET).fingerprint
    assert f"<secret {fingerprint}>" in error.message
    assert error.code is not None
    assert error.code.startswith("E_<secret ")
    assert error.request_id is not None
    assert "<secret " in error.request_id
    assert NUMBER not in str(error)
    assert "+9627*****67" in str(error)


def test_the_cli_prints_no_echoed_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with RawServer(_hostile("500")) as server:
        for name, value in {
            "AUTHMATECH_CLIENT_ID": "cl_door",
            "AUTHMATECH_API_KEY": API_KEY,
            "AUTHMATECH_CLIENT_SECRET": CLIENT_SECRET,
            "AUTHMATECH_BASE_URL": server.url,
        }.items():
            monkeypatch.setenv(name, value)
        for argv in (["verify", NUMBER, "--proof", "BLOB"], ["rotate-key"]):
            out = io.StringIO()
            cli_main(argv, out=out)
            captured = capsys.readouterr()
            text = out.getvalue() + captured.out + captured.err
            assert "500" in text
            for secret in SECRETS:
                assert secret not in text, argv
            assert not RAW_NUMBER.search(text), text


@pytest.mark.parametrize("driver", DRIVERS)
def test_records_outside_a_send_are_left_alone(
    driver: str, root_at_debug: list[logging.LogRecord]
) -> None:
    """The filter on the HTTP libraries' loggers acts only while a request is in flight."""
    logging.getLogger("httpx").info("unrelated %s with %s", API_KEY, NUMBER)
    (record,) = [r for r in root_at_debug if r.name == "httpx"]
    assert record.getMessage() == f"unrelated {API_KEY} with {NUMBER}"


#: a real key with a copy-paste mistake: the hygiene checks refuse it, and it must not travel
QUOTED = f'"{API_KEY}"'
SPACED = f"{API_KEY} x"
BAD_ENV = {"AUTHMATECH_CLIENT_ID": "cl_door", "AUTHMATECH_API_KEY": QUOTED}


def _sync_provider_call() -> None:
    with authmatech.Client(client_id="cl_door", api_key=lambda: SPACED) as client:
        client.verify(NUMBER, "proof")


def _async_provider_call(backend: str) -> None:
    async def provide() -> str:
        return SPACED

    async def main() -> None:
        async with authmatech.AsyncClient(client_id="cl_door", api_key=provide) as client:
            await client.verify(NUMBER, "proof")

    anyio.run(main, backend=backend)


REFUSED: dict[str, Callable[[], object]] = {
    "Credentials": lambda: authmatech.Credentials("cl_door", api_key=QUOTED),
    "Credentials client_secret": lambda: authmatech.Credentials(
        "cl_door", client_secret=SPACED.replace(API_KEY, CLIENT_SECRET)
    ),
    "Credentials.from_env": lambda: authmatech.Credentials.from_env(BAD_ENV),
    "Client": lambda: authmatech.Client(client_id="cl_door", api_key=SPACED),
    "AsyncClient": lambda: authmatech.AsyncClient(client_id="cl_door", api_key=QUOTED),
    "Client from the environment": lambda: authmatech.Client(),
    "a sync provider's key": _sync_provider_call,
    "an async provider's key (asyncio)": lambda: _async_provider_call("asyncio"),
    "an async provider's key (trio)": lambda: _async_provider_call("trio"),
}


@pytest.mark.parametrize("where", sorted(REFUSED))
def test_a_refused_credential_is_in_no_frame_of_the_error(
    where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key refused by the hygiene checks (quotes from a .env file, an inner space) is a real
    key with a mistake around it: the ConfigurationError's frames (the constructor's
    arguments, ``os.environ`` in ``from_env``) must not show it to a locals renderer."""
    monkeypatch.setattr(os, "environ", {**os.environ, **BAD_ENV})
    with pytest.raises(authmatech.ConfigurationError) as caught:
        REFUSED[where]()
    assert not _leaks(caught.value), _leaks(caught.value)[:5]


def test_every_logger_of_the_library_has_its_own_redaction_filter() -> None:
    """A filter on ``authmatech`` does not see the records of ``authmatech.fleet``: every
    logger the library's modules create needs its own (and each HTTP library's logger the
    in-flight filter)."""
    import importlib
    import pkgutil

    from authmatech._logging import HTTP_LOGGERS, LIBRARY_LOGGERS
    from authmatech.core import InFlightFilter, RedactionFilter

    for module in pkgutil.walk_packages(authmatech.__path__, "authmatech."):
        if module.name != "authmatech.__main__":
            importlib.import_module(module.name)
    created = {
        name
        for name, value in logging.Logger.manager.loggerDict.items()
        if name.split(".")[0] == "authmatech" and isinstance(value, logging.Logger)
    }
    assert created <= set(LIBRARY_LOGGERS), created - set(LIBRARY_LOGGERS)
    for name in LIBRARY_LOGGERS:
        assert any(isinstance(f, RedactionFilter) for f in logging.getLogger(name).filters), name
    for name in HTTP_LOGGERS:
        assert any(isinstance(f, InFlightFilter) for f in logging.getLogger(name).filters), name
    record = logging.LogRecord("authmatech.fleet", logging.INFO, __file__, 1, "%s", (NUMBER,), None)
    assert all(f.filter(record) for f in logging.getLogger("authmatech.fleet").filters)
    assert NUMBER not in record.getMessage()
