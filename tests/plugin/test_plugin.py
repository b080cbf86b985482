"""The pytest plugin (``authmatech.testing``) under every async test runner a user may have.

Each case runs a pytest sub-session (pytester) whose tests use the fixtures the way a user's
suite would: pytest-asyncio in strict and auto mode, anyio on asyncio and trio, both in the
same run, and the plain sync fixtures. (anyio alone is what the project's own suite uses.)
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_SUITE = """
import pytest

NUMBER = "+962791234567"


async def _login(client, sandbox):
    proof = sandbox.device_proof(NUMBER)
    result = await client.verify(NUMBER, proof.encrypted_mobile_number)
    assert result.valid_number


@pytest.mark.asyncio
async def test_pytest_asyncio(authmatech_async_client, authmatech_sandbox):
    await _login(authmatech_async_client, authmatech_sandbox)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_anyio(authmatech_async_client, authmatech_sandbox, anyio_backend):
    await _login(authmatech_async_client, authmatech_sandbox)


@pytest.mark.asyncio
async def test_pytest_asyncio_again(authmatech_async_client, authmatech_sandbox):
    await _login(authmatech_async_client, authmatech_sandbox)


def test_sync(authmatech_client, authmatech_sandbox):
    proof = authmatech_sandbox.device_proof(NUMBER)
    assert authmatech_client.verify(NUMBER, proof.encrypted_mobile_number).valid_number
"""

AUTO_SUITE = """
NUMBER = "+962791234567"


async def test_unmarked(authmatech_async_client, authmatech_sandbox):
    proof = authmatech_sandbox.device_proof(NUMBER)
    result = await authmatech_async_client.verify(NUMBER, proof.encrypted_mobile_number)
    assert result.valid_number
"""


def _run(pytester: pytest.Pytester, mode: str) -> pytest.RunResult:
    pytester.makeini(
        "[pytest]\nfilterwarnings = error\nasyncio_default_fixture_loop_scope = function\n"
        f"asyncio_mode = {mode}\n"
    )
    return pytester.runpytest("-p", "no:cacheprovider")


def test_fixtures_work_under_pytest_asyncio_strict_and_anyio_in_one_run(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_user=USER_SUITE)
    _run(pytester, "strict").assert_outcomes(passed=5)


def test_fixtures_work_under_pytest_asyncio_auto_and_anyio_in_one_run(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_user=USER_SUITE, test_unmarked=AUTO_SUITE)
    _run(pytester, "auto").assert_outcomes(passed=6)
