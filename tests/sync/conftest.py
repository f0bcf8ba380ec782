"""Fixtures of the sync tests."""

from tests.sync.labkit import sync_lab  # noqa: F401 (the module-scoped lab fixture)
