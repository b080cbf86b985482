"""Developer tasks: ``nox -s tests lint typecheck coverage`` (the CI set), ``fuzz``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck", "coverage", "docs"]

SUPPORTED = ["3.10", "3.11", "3.12", "3.13"]


def _expose_pyenv_versions() -> None:
    """pyenv's ``python3.X`` shims work only for active versions: activate every installed
    supported one, so ``nox -s tests`` finds them all."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if not versions.is_dir() or "PYENV_VERSION" in os.environ:
        return
    found = sorted(
        entry.name
        for entry in versions.iterdir()
        if any(entry.name.startswith(f"{version}.") for version in SUPPORTED)
    )
    if found:
        os.environ["PYENV_VERSION"] = ":".join(found)


_expose_pyenv_versions()
INSTALLED = [version for version in SUPPORTED if shutil.which(f"python{version}")]
TEST_EXTRAS = ".[test,aiohttp,httpx2,redis]"


@nox.session(python=INSTALLED or None)
def tests(session: nox.Session) -> None:
    """The whole test suite on every supported Python that is installed."""
    session.install("-e", TEST_EXTRAS)
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repo."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict and pyright on the library; the public API's type completeness at 100%."""
    session.install("-e", ".[aiohttp,test,dev]")
    session.run("mypy", "--strict", "authmatech")
    python = os.path.join(session.virtualenv.bin, "python")
    session.run("pyright", "--pythonpath", python, "authmatech")
    session.run(
        "pyright",
        "--pythonpath",
        python,
        "--verifytypes",
        "authmatech",
        "--ignoreexternal",
        env={"PYTHONPATH": os.getcwd()},
    )


@nox.session
def coverage(session: nox.Session) -> None:
    """Branch coverage of the sans-IO core; fails under 95%."""
    session.install("-e", ".[test,aiohttp,httpx2,redis,dev]")
    session.run(
        "coverage",
        "run",
        "--branch",
        "--source=authmatech/core",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/core",
    )
    session.run("coverage", "report", "--fail-under=95")


@nox.session
def fuzz(session: nox.Session) -> None:
    """Hypothesis with 100,000 examples per heavy parser and request-builder property."""
    session.install("-e", TEST_EXTRAS)
    args = ["python", "-m", "pytest", "-q", "tests/core", "-k", "property", *session.posargs]
    session.run(*args, env={"HYPOTHESIS_PROFILE": "fuzz"})


@nox.session
def reliability(session: nox.Session) -> None:
    """The reliability suite alone: faults, secrets, redirects, cancellation, load, fuzzing
    against real loopback servers (``-- HYPOTHESIS_PROFILE=fuzz`` is not needed: set it in the
    environment to scale the client-level properties up 50 times)."""
    session.install("-e", TEST_EXTRAS)
    session.run("python", "-m", "pytest", "-m", "reliability", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site; every warning is an error (mkdocs build --strict)."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """Library vs raw httpx / aiohttp on a loopback server (see bench/README.md).

    ``nox -s bench -- --quick`` for a smoke run.
    """
    session.install("-e", ".[aiohttp]")
    session.install("matplotlib")  # optional: draws bench/results/latest.png
    session.run("python", "bench/run.py", *session.posargs)


@nox.session
def fleet(session: nox.Session) -> None:
    """K processes on one account against ``sandbox serve`` and a real redis-server, with and
    without the shared budget, a Redis outage and a fleet key rotation (see docs/fleet.md).

    ``nox -s fleet -- --processes 2 --in-flight 8 --limit 40 --window 1`` for a short run.
    """
    session.install("-e", ".[redis]")
    session.run("python", "bench/fleet.py", *session.posargs)


@nox.session
def budget(session: nox.Session) -> None:
    """The rate budget against the sandbox's rate limit over loopback (see bench/README.md).

    ``nox -s budget -- --quick`` for a smoke run.
    """
    session.install("-e", ".[aiohttp]")
    session.run("python", "bench/budget.py", *session.posargs)


@nox.session
def ladder(session: nox.Session) -> None:
    """Where the library's time goes, one layer at a time (see bench/README.md).

    ``nox -s ladder -- --stack httpx-sync`` for the synchronous client.
    """
    session.install("-e", ".[aiohttp]")
    session.run("python", "bench/ladder.py", *session.posargs)
