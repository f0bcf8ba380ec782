"""An import's automatic backup: an export of every part the import replaces (and the config
files, and the EPG beside the database), kept on this computer — or, when the operator asks
(``pmc import --backup-without-data``, the Import dialog's checkbox), all of that but the data
folders (carousel, av, ts): the import's own rollback does not need them, since the replaced
folders are kept aside on the server (``FOLDER.pmc-old-ID``) until the import is verified, but
such a backup alone cannot bring them back.

The import takes it while it stages the bundle — the backup comes down the link while the
bundle goes up — and nothing live changes before it is complete: the tables swap only once it
is written (:meth:`pmc.bundle.importer.BundleImport.stage_and_load`), the folders switch and
the config files are written after that. An import that fails before then cancels it (an
export leaves no partial file) and changed nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from pathlib import Path

from pmc import paths
from pmc.bundle.manifest import PART_CONFIG, PART_DATA
from pmc.catalog import PART_DATABASE, PART_EPG


def default_backup_dir() -> Path:
    """Where automatic backups go: ``backups/`` in PMC's user data folder."""
    return Path(paths.data_dir()) / "backups"


def backup_file(server: str, backup_dir: Path | None) -> Path:
    """The file of a backup of ``server`` taken now: in ``backup_dir``, or in PMC's own
    folder (:func:`default_backup_dir`, private: the backups are full dumps)."""
    if backup_dir is None:
        folder = default_backup_dir()
        paths.private_dir(folder.parent)
        paths.private_dir(folder)
    else:
        folder = paths.ensure_dir(backup_dir)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return folder / f"{server}-before-import-{stamp}.pmcbundle"


# what the result, the dialog and the hints say of a backup without the data folders
WITHOUT_DATA = "without the data folders (carousel, av, ts)"


def holds(without_data: bool) -> str:
    """What a backup holds, said after "backup of the previous configuration": nothing to
    say of a full one."""
    return f", {WITHOUT_DATA}" if without_data else ""


def backup_parts(parts: tuple[str, ...], *, without_data: bool = False) -> list[str]:
    """What the backup of an import of ``parts`` holds: those, the config files, and the EPG
    beside the database (set-aside EPG rows may be dropped; the backup keeps them); with
    ``without_data``, not the data folders."""
    found = [*parts, *(p for p in (PART_CONFIG,) if p not in parts)]
    if PART_DATABASE in parts and PART_EPG not in found:
        found.append(PART_EPG)
    return [p for p in found if not (without_data and p == PART_DATA)]


async def settled(backing_up: asyncio.Future[Path]) -> Path | None:
    """The backup's file once ``backing_up`` has ended (cancelled first if it still runs);
    None when it did not finish."""
    if not backing_up.done():
        backing_up.cancel()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await backing_up
    if backing_up.cancelled() or backing_up.exception() is not None:
        return None
    return backing_up.result()
