"""Shared fixtures: each lives in tests/fixtures/ and is loaded here as a plugin."""

import os

import pytest

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
