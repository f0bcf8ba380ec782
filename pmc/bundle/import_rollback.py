"""Rolling a failed import back to the automatic backup."""

from __future__ import annotations

import asyncio

from pmc.bundle.errors import BundleOperationFailed
from pmc.bundle.export import ExportResult
from pmc.bundle.import_db import TableLoad, target_database
from pmc.bundle.import_load import UNSWITCH_SCRIPT, Loader, on_folders
from pmc.bundle.pipe import Pipe
from pmc.bundle.preview import scan_bundle
from pmc.bundle.progress import ByteProgress
from pmc.catalog import Catalog
from pmc.cluster_lock import hold_again
from pmc.errors import Cancelled, PmcError
from pmc.jobs import JobContext
from pmc.remote import files, services
from pmc.remote.commands import run
from pmc.remote.connection import Connection


async def roll_back(  # noqa: PLR0917
    connection: Connection,
    ident: str,
    dirs: list[str],
    committed: bool,
    switched: bool,
    config_backups: dict[str, str | None],
    backup: ExportResult,
    catalog: Catalog,
    ctx: JobContext | None,
    *,
    restart: list[str],
) -> None:
    """Put the target back as it was (the connection is made again if it was cut) and
    restart ``restart`` (the services the import restarted) on it."""
    log = ctx.log if ctx else (lambda *_a, **_k: None)
    log("rolling back to the state before the import", level="warning")
    errors: list[str] = []
    for attempt in range(3):
        try:
            await connection.transport()
            break
        except PmcError as exc:
            if attempt == 2:
                errors.append(str(exc))
            await asyncio.sleep(1 + attempt)
    try:
        await hold_again([connection], lambda text: log(text, level="warning"))
        await on_folders(connection, UNSWITCH_SCRIPT, ident, dirs)
        for remote, saved in config_backups.items():
            # the file as it was (the import's backup copy goes too), or gone if it was new
            if saved:
                await files.restore_backup(connection, remote, saved)
            await run(connection, ["rm", "-f", "--", saved or remote], root=True, check=True)
        if committed:
            bscan = await connection.in_thread(
                connection.executors.transfers, scan_bundle, backup.path
            )
            tables = list(bscan.manifest.tables)
            async with target_database(connection) as pg:
                db = TableLoad(
                    pg, tables, catalog, rows=bscan.checksums.rows, cycles=bool(catalog.cycles),
                    where=connection.label, bundle=str(backup.path),
                )  # fmt: skip

                def no_tar(key: str) -> Pipe:  # pragma: no cover - no folder is staged
                    raise AssertionError(key)

                loader = Loader(bscan, {}, db, no_tar, ByteProgress(None, "Restoring", None))

                def load() -> None:
                    db.begin()
                    loader.run()
                    db.swap()
                    db.commit()

                await connection.in_thread(connection.executors.transfers, load)
        if switched or config_backups or committed:
            for unit in restart:
                await services.restart(connection, unit)
                log(f"{unit} restarted on the restored configuration")
    except (Exception, Cancelled) as exc:
        errors.append(str(exc))
    if errors:
        left = "".join(f" {d}.pmc-stage-{ident}" for d in dirs)
        cleared = (
            f"; the staging folders left on it ({left.strip()}) are removed by PMC's next job "
            "on the server"
            if left
            else ""
        )
        raise BundleOperationFailed(
            "the import failed and the rollback did not finish: " + "; ".join(errors),
            where=connection.label,
            hint=f"Restore the server from the backup at {backup.path} "
            f"(pmc import {backup.path} …) once it is reachable{cleared}",
        )
