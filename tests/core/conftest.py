"""Fixtures and Hypothesis profiles for the sans-IO core tests.

Profiles (only the heavy parser/builder properties follow them; the light ones pin their own
small budgets):

* ``authmatech-core`` (default): a few hundred examples, derandomized, no example database and
  no shrinking, so a plain ``pytest tests/core`` is deterministic and takes seconds;
* ``fuzz``: ``HYPOTHESIS_PROFILE=fuzz pytest tests/core -k property`` runs 100,000 examples per
  heavy property with real randomness, the example database and shrinking.
"""

from __future__ import annotations

import os

import pytest
from core_helpers import API_KEY, CLIENT_ID, CLIENT_SECRET, SDK_TOKEN
from hypothesis import HealthCheck, Phase, settings

from authmatech import core
from authmatech.credentials import Credentials

settings.register_profile(
    "authmatech-core",
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    # no shrinking: a failure is reported at once (shrink it with HYPOTHESIS_PROFILE=fuzz)
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz",
    max_examples=100_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

#: The profile the heavy properties use (``core_helpers.heavy()``).
HEAVY_PROFILE = "fuzz" if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else "authmatech-core"
settings.register_profile("authmatech-core-heavy", settings.get_profile(HEAVY_PROFILE))
if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz":
    settings.load_profile("fuzz")


@pytest.fixture
def full_credentials() -> Credentials:
    """Every credential at once (client ID, API key, SDK token, client secret)."""
    return Credentials(CLIENT_ID, api_key=API_KEY, sdk_token=SDK_TOKEN, client_secret=CLIENT_SECRET)


@pytest.fixture
def api_credentials() -> Credentials:
    """What a typical backend holds: client ID and API key."""
    return Credentials(CLIENT_ID, api_key=API_KEY)


@pytest.fixture
def config() -> core.ClientConfig:
    return core.ClientConfig()
