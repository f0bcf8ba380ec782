"""Shared fixtures: each lives in tests/fixtures/ and is loaded here as a plugin."""

import os

import pytest
from hypothesis import HealthCheck, settings

# Property tests judge outcomes, never speed: Hypothesis's default 200 ms deadline per example
# (and its too-slow health check) fail a correct test on a loaded machine (CI's two cores
# running labs beside it). Speed goals live in bench/.
settings.register_profile(
    "pmc", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("pmc")

pytest_plugins: list[str] = [
    "tests.fixtures.sshd",
    "tests.fixtures.keyring",
    "tests.fixtures.lab",
    "tests.fixtures.log_handlers",
    "tests.lab_cli",  # the `pmc` fixture: the CLI against the lab
]


@pytest.fixture(autouse=True, scope="session")
def _pmc_log_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`pmc` commands run by tests log to a temporary folder, never the real PMC log folder;
    their local state (history, cluster locks) is the test session's own too: two test
    sessions side by side, each with its own lab, never share a lock."""
    if not os.environ.get("PMC_LOG_DIR"):
        os.environ["PMC_LOG_DIR"] = str(tmp_path_factory.mktemp("pmc-log"))
    if not os.environ.get("PMC_DATA_DIR"):
        os.environ["PMC_DATA_DIR"] = str(tmp_path_factory.mktemp("pmc-data"))
