"""What PMC writes on the operator's machine is the operator's alone, whatever the umask: an
exported bundle and the automatic backup of an import (full database dumps), the data folder,
the history file and the logs. Checked under umask 022 by another local user (``nobody``)
trying to read each, in folders that user may otherwise enter. Real sshd and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmc import paths
from pmc.bundle.export import ExportOptions, export_bundle
from pmc.bundle.importer import ImportOptions, import_bundle
from pmc.log import configure_logging
from pmc.store import Store
from tests.bundle.conftest import PlayoutHost
from tests.fixtures.other_user import open_world_folder, readable_by_other_user, require_other_user

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def open_base(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """PMC's folders inside a folder every user may enter (as a home folder often is)."""
    require_other_user()
    base = open_world_folder("pmc-private-")
    monkeypatch.setenv("PMC_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("PMC_LOG_DIR", str(base / "log"))
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_bundles_backups_store_data_dir_and_logs_are_private_under_umask_022(
    playout_pair: tuple[PlayoutHost, PlayoutHost],
    umask_022: None,
    open_base: Path,
    restore_logging: None,
) -> None:
    main, backup = playout_pair
    out = open_base / "exports"
    out.mkdir()  # 0755 under umask 022: the operator's chosen folder, left as it is
    bundle = out / "main.pmcbundle"
    control = out / "note.txt"
    control.write_text("readable\n")  # 0644: the other user can read what is not private
    assert readable_by_other_user(control)

    async def go() -> None:
        conn = main.connection(open_base / "kh-main")
        try:
            await export_bundle(conn, bundle, ExportOptions())
        finally:
            await conn.close()
        conn = backup.connection(open_base / "kh-backup")
        try:  # the automatic backup goes to the data folder's backups/
            await import_bundle(conn, bundle, ImportOptions(restart=False))
        finally:
            await conn.close()

    asyncio.run(go())
    store = Store.open()  # the history file in the data folder
    store.audit("test", detail="written under umask 022")
    log_file = configure_logging(stderr=False)
    logging.getLogger("pmc.test").warning("a line in the log")
    data = paths.data_dir()
    (backup_file,) = (data / "backups").iterdir()
    private_files = [bundle, backup_file, store.path, log_file]
    private_files += [p for p in data.iterdir() if p.name.startswith("pmc.sqlite3-")]  # -wal…
    try:
        for folder in (data, data / "backups", log_file.parent):
            assert _mode(folder) == 0o700, folder
            assert not readable_by_other_user(folder), folder
        for path in private_files:
            assert path is not None
            assert _mode(path) == 0o600, path
            assert not readable_by_other_user(path), path
        assert _mode(out) == 0o755  # a folder the operator chose is not changed
    finally:
        store.close()


def test_an_older_pmcs_open_data_folder_and_history_become_private(
    umask_022: None, open_base: Path
) -> None:
    data = Path(os.environ["PMC_DATA_DIR"])
    data.mkdir(mode=0o755)
    (data / "pmc.sqlite3").touch(mode=0o644)
    Store.open().close()
    assert _mode(data) == 0o700
    assert _mode(data / "pmc.sqlite3") == 0o600
