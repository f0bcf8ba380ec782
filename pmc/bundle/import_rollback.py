"""What rolling a failed import back needs beside its change ledger: the connection made again,
the tables reloaded from the automatic backup, and the error when the rollback cannot finish.
The rollback itself is :meth:`pmc.bundle.importer.BundleImport.roll_back`."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from pmc.bundle.errors import BundleOperationFailed
from pmc.bundle.import_backup import WITHOUT_DATA
from pmc.bundle.import_db import TableLoad, target_database
from pmc.bundle.import_load import load_in_one_pass
from pmc.bundle.preview import scan_bundle
from pmc.bundle.progress import ByteProgress
from pmc.catalog import Catalog
from pmc.errors import PmcError
from pmc.remote.connection import Connection

RECONNECT_TRIES = 3


async def reconnect(connection: Connection) -> str | None:
    """Make the connection again if it was cut (a few tries, a pause between them); what
    the last try said when none worked."""
    for attempt in range(RECONNECT_TRIES):
        try:
            await connection.transport()
            return None
        except PmcError as exc:
            if attempt == RECONNECT_TRIES - 1:
                return str(exc)
            await asyncio.sleep(1 + attempt)
    return None  # pragma: no cover - the loop returns


async def reload_tables(connection: Connection, backup: Path, catalog: Catalog) -> None:
    """Load the tables of the backup bundle ``backup`` into the target again (one
    transaction, as the import loaded them)."""
    bscan = await connection.in_thread(connection.executors.transfers, scan_bundle, backup)
    tables = list(bscan.manifest.tables)
    async with target_database(connection) as pg:
        db = TableLoad(
            pg, tables, catalog, rows=bscan.checksums.rows, cycles=bool(catalog.cycles),
            where=connection.label, bundle=str(backup),
        )  # fmt: skip

        progress = ByteProgress(None, "Restoring", None)
        await load_in_one_pass(connection, bscan, {}, db, progress)


_SAYS_UNCHANGED = re.compile(r"nothing (live )?was changed", re.IGNORECASE)


def unchanged(exc: BaseException) -> BaseException:
    """``exc``, of an import that failed before its commit and was rolled back; an operator's
    error (:class:`PmcError`) says so in its hint, unless the hint says it already (a refused
    bundle's "Nothing was changed on any server")."""
    if isinstance(exc, PmcError) and not _SAYS_UNCHANGED.search(exc.hint or ""):
        before = f"{exc.hint.rstrip('.')}. " if exc.hint else ""
        exc.hint = (
            f"{before}Nothing live was changed on the server (the import failed before it "
            "switched anything over, and what it had staged was removed)"
        )
    return exc


def rollback_unfinished(
    connection: Connection,
    errors: list[str],
    backup: Path | None,
    ident: str,
    dirs: list[str],
    *,
    without_data: bool = False,
) -> BundleOperationFailed:
    """The error of a rollback that could not finish: what stopped it, and how to restore
    the server from the backup by hand (without a backup, the import failed before anything
    live changed: only its staging folders are left; a backup ``without_data`` says where
    the previous data folders are kept instead)."""
    left = "".join(f" {d}.pmc-stage-{ident}" for d in dirs)
    cleared = (
        f"; the staging folders left on it ({left.strip()}) are removed by PMC's next job "
        "on the server"
        if left
        else ""
    )
    restore = (
        f"Restore the server from the backup at {backup} (pmc import {backup} …) once it is "
        "reachable"
        if backup
        else "Nothing live was changed (the import failed before its backup was complete)"
    )
    if backup and without_data and dirs:
        kept = ", ".join(f"{d}.pmc-old-{ident}" for d in dirs)
        restore += (
            f"; the backup is {WITHOUT_DATA}: where a data folder was replaced, the previous "
            f"one is kept on the server ({kept}) — move it back into place by hand"
        )
    return BundleOperationFailed(
        "the import failed and the rollback did not finish: " + "; ".join(errors),
        where=connection.label,
        hint=restore + cleared,
    )
