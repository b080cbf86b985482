"""The package surface: protocols, lazy aiohttp import, and the shared helpers."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from authmatech.core._http import HttpRequest, HttpResponse, Timeout
from authmatech.errors import APIConnectionError, APITimeoutError, ConfigurationError
from authmatech.transports import AsyncTransport, SyncTransport
from authmatech.transports._common import Failure, TimeoutCache, host_of, merge_headers, translate


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60
    )


def test_importing_transports_never_imports_aiohttp() -> None:
    result = run_python(
        "import sys, authmatech, authmatech.transports\n"
        "assert 'aiohttp' not in sys.modules, 'aiohttp imported eagerly'\n"
        "authmatech.transports.AiohttpTransport\n"
        "assert 'aiohttp' in sys.modules\n"
    )
    assert result.returncode == 0, result.stderr


def test_without_aiohttp_constructing_it_says_how_to_install() -> None:
    result = run_python(
        "import sys\n"
        "sys.modules['aiohttp'] = None\n"
        "from authmatech.errors import ConfigurationError\n"
        "from authmatech.transports import AiohttpTransport\n"
        "try:\n"
        "    AiohttpTransport()\n"
        "except ConfigurationError as exc:\n"
        "    print(exc)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        'AiohttpTransport needs aiohttp: pip install "authmatech[aiohttp]"'
    )


def test_unknown_attribute_is_an_attribute_error() -> None:
    import authmatech.transports

    with pytest.raises(AttributeError, match="NoSuchTransport"):
        authmatech.transports.NoSuchTransport  # noqa: B018


class EchoTransport:
    def send(self, request: HttpRequest, timeout: Timeout) -> HttpResponse:
        return HttpResponse(200, {}, request.body or b"")

    def close(self) -> None:
        pass


def test_protocols_are_structural() -> None:
    assert isinstance(EchoTransport(), SyncTransport)
    assert not isinstance(EchoTransport(), AsyncTransport)


def test_timeout_cache_converts_each_value_once_and_stays_bounded() -> None:
    built: list[Timeout] = []

    def build(timeout: Timeout) -> float:
        built.append(timeout)
        return timeout.read

    cache = TimeoutCache(build)
    default = Timeout()
    assert [cache.get(default), cache.get(default), cache.get(Timeout())] == [15.0] * 3
    assert cache.get(Timeout(read=2.0)) == 2.0
    assert cache.get(default) == 15.0
    assert built == [default, Timeout(read=2.0)]
    for step in range(1, 200):
        assert cache.get(default.capped(step / 1000)) == step / 1000
    assert len(cache._cache) <= 32


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://service.authmatech.com/v1/api/verify?mobile=1", "service.authmatech.com"),
        ("http://user:pw@127.0.0.1:8080/x", "127.0.0.1:8080"),
        ("http://[::1]:9000/x", "[::1]:9000"),
        ("http://[::1/x", "the configured host"),
        ("not a url", "the configured host"),
    ],
)
def test_host_of_shows_only_host_and_port(url: str, host: str) -> None:
    assert host_of(url) == host


def test_merge_headers_lowercases_and_joins_repeats() -> None:
    merged = merge_headers([("Set-Cookie", "a=1"), ("X-Request-Id", "r"), ("set-cookie", "b=2")])
    assert merged == {"set-cookie": "a=1, b=2", "x-request-id": "r"}


def test_translate_falls_back_to_maybe_processed() -> None:
    failures = (Failure(httpx.ConnectTimeout, "connect to {host} timed out", False, timeout=True),)
    timeout = translate(httpx.ConnectTimeout("x"), "https://h.example/p?q", failures)
    assert type(timeout) is APITimeoutError
    assert (
        str(timeout)
        == "connect to h.example timed out (ConnectTimeout); nothing reached the server"
    )
    other = translate(OSError("x"), "https://h.example/p?q", failures)
    assert type(other) is APIConnectionError
    assert other.maybe_processed is True
    assert str(other) == (
        "the request to h.example failed in transit (OSError); "
        "the server may have processed the request"
    )


def test_configuration_error_for_bad_cap_type() -> None:
    from authmatech.transports import AsyncHttpxTransport

    with pytest.raises(ConfigurationError):
        AsyncHttpxTransport(max_response_bytes=1.5)  # type: ignore[arg-type]
