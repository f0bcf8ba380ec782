"""Fixtures of the sync tests."""

from tests.sync.labkit import clean_sync_lab, sync_lab  # noqa: F401 (the shared redundant lab)
