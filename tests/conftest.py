"""Shared fixtures: each lives in tests/fixtures/ and is loaded here as a plugin."""

pytest_plugins: list[str] = ["tests.fixtures.sshd", "tests.fixtures.keyring", "tests.fixtures.lab"]
