"""Import a bundle into a server: verify, back up, stage, load, switch, restart, verify.

Order of work, and why nothing is ever left half-done:

1. **Verify** the whole bundle locally (every name, type and size, the trailer, the checksum
   of every member but the data files, every table member as COPY data; the data files are
   passed over unread and their checksums checked in step 3: ``scan_bundle(hash_data=False)``)
   and check it against the target: the Playout version and every table and column must
   exist there (else *newer Playout schema*), and the whole job must fit each of the target's
   filesystems (:func:`~pmc.bundle.import_plan.check_space`). Any refusal but a data file's
   checksum happens here, before the target is touched (once the cluster lock is taken,
   which also clears what an earlier failed job left: :mod:`pmc.cluster_lock`).
2. **Back up** the target: an automatic export of every part that will be replaced (or all
   but the data folders: :mod:`pmc.bundle.import_backup`), kept on this computer; its path
   and what it holds are in the result and the job log. Taken while step 3 stages the
   bundle, it is complete before anything live changes: the tables swap once it is written.
3. **Stage and load in one pass** over the bundle (each member is checked against the
   trailer's checksums as it streams, so a data file that is damaged, or any file that
   changed since step 1, is caught before anything live changes: the staging folders are
   discarded, the transaction never commits, the automatic backup is removed and the bundle
   is refused as in step 1, the target as it was): the
   tables go as COPY data over the PostgreSQL protocol into staging tables, and only once
   they all hold the bundle's rows and still match the target's catalog are the target's
   tables emptied and filled from them, in one transaction (:mod:`pmc.bundle.import_db`: no
   SQL is ever made of a member's bytes); the data folders stream into
   ``FOLDER.pmc-stage-ID`` beside each folder, each file and folder with PMC's own mode
   (:func:`~pmc.bundle.import_load.staged_mode`, never the archive's). The transaction
   commits only after the whole bundle was staged; a failure or a cut connection before that
   rolls the database back by itself.
4. **Switch**: each data folder is renamed to ``FOLDER.pmc-old-ID`` and the staged one into
   place (renames on the same filesystem); config files are written atomically with backups.
5. **Restart** what the imported parts affect, all together (:func:`services_to_restart`:
   ``playout-api`` for the API config and the database it serves, the Playout daemons
   ``playout-scheduler``, ``eit-update`` and ``playout-admin`` after a database or EPG
   import — the vendor's manual: imports need service restarts — and ``playout-scheduler``
   for new data files; a unit the server does not have is skipped and said) and **verify**:
   each restarted service is active, every table has the bundle's row count. Then the old
   folders are removed.

Each step is a method of :class:`BundleImport`, in this order. Every change on the target
goes into its change ledger (:mod:`pmc.change_ledger`, the setup executor's) as it is made:
the data folders (undone by a script that removes the staged ones and puts the old ones
back), the tables (reloaded from the backup bundle), each config file (its backup put back,
or removed if it was new). A failure after the backup undoes the ledger newest first and
restarts the services the import restarted, through the one restart of setup, import and
sync (:func:`pmc.remote.services.restart_active`). A refusal before the commit is raised as
it is; any other failure says that the target was rolled back to the backup.

The target's own addresses: spoolers.json and replicate.conf name the servers of *their*
cluster. From a bundle of the same server they are restored as they are; from another server
they are kept as the target has them (``keep``, the default) or adapted (``adapt``: the
source's and the target's addresses and names exchanged through each file's codec, see
:mod:`pmc.bundle.adapt`), and the result says which.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets as pysecrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from pmc import audit_trail
from pmc.bundle.errors import BundleError, BundleOperationFailed
from pmc.bundle.export import ExportOptions, export_bundle
from pmc.bundle.import_backup import backup_file, backup_parts, holds, settled
from pmc.bundle.import_db import TableLoad, target_database
from pmc.bundle.import_load import (
    CLEANUP_SCRIPT,
    STAGE_SCRIPT,
    SWITCH_SCRIPT,
    UNSWITCH_SCRIPT,
    executable_files,
    load_in_one_pass,
    on_folders,
)
from pmc.bundle.import_plan import (
    AddressPolicy,
    check_schema,
    check_space,
    chosen_parts,
    config_path,
    data_folders,
    plan_config,
    services_to_restart,
)
from pmc.bundle.import_rollback import reconnect, reload_tables, rollback_unfinished, unchanged
from pmc.bundle.manifest import PART_CONFIG, PART_DATA, TableSpec
from pmc.bundle.preview import Scan, scan_bundle, target_counts
from pmc.bundle.progress import ByteProgress
from pmc.bundle.schema import playout_version
from pmc.catalog import Catalog, read_catalog
from pmc.change_ledger import ChangeLedger, UndoKind, undo_change
from pmc.cluster_lock import cluster_lock, hold_again
from pmc.errors import Cancelled, PmcError
from pmc.jobs import EventLevel, JobContext
from pmc.remote import files, services
from pmc.remote.connection import Connection
from pmc.remote.errors import ServiceNotActive
from pmc.words import plural


@dataclass(frozen=True)
class ImportOptions:
    parts: tuple[str, ...] | None = None  # None: every part the bundle has
    addresses: AddressPolicy = "keep"  # for spoolers.json / replicate.conf of another server
    backup_dir: Path | None = None  # where the automatic backup goes
    backup_without_data: bool = False  # the data folders left out of it (pmc.bundle.import_backup)
    streams: int | None = None  # for big data files (pmc.bundle.import_parts); None: from the cores
    restart: bool = True


@dataclass
class ImportResult:
    target: str
    bundle: Path
    backup: Path | None
    parts: tuple[str, ...]
    rows: dict[str, int] = field(default_factory=dict)
    config_actions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    restarted: list[str] = field(default_factory=list)  # each found active afterwards
    backup_without_data: bool = False  # the backup holds all the import replaced but its data

    def __str__(self) -> str:
        text = (
            f"imported {self.bundle.name} into {self.target} ({', '.join(self.parts)}) "
            f"in {self.seconds:.1f} s"
        )
        if self.restarted:
            text += f"; restarted and active: {', '.join(self.restarted)}"
        if self.backup:
            held = holds(self.backup_without_data)
            text += f"; backup of the previous configuration{held}: {self.backup}"
        return text


async def import_bundle(
    connection: Connection,
    path: Path,
    options: ImportOptions | None = None,
    ctx: JobContext | None = None,
    *,
    scan: Scan | None = None,
) -> ImportResult:
    """Import the bundle at ``path`` into ``connection``'s server; see the module docs. The
    whole import holds the cluster lock on the target (:mod:`pmc.cluster_lock`)."""
    job = f"import {Path(path).name} into {connection.server.name}"
    async with cluster_lock([connection], job=job, log=ctx.log if ctx else None):
        started = time.monotonic()
        checked = await BundleImport.check(connection, Path(path), options, ctx, scan)
        return await checked.run(started)


def job_step(
    ctx: JobContext | None, title: str, connection: Connection
) -> contextlib.AbstractContextManager[None]:
    return ctx.step(title, server=connection.label) if ctx else contextlib.nullcontext()


class BundleImport:
    """One import, phase by phase in the order they run (the module docs): :meth:`check`
    makes it (nothing changes before), then :meth:`run` goes through :meth:`back_up` beside
    :meth:`stage_and_load`, then :meth:`switch`, :meth:`restart_and_verify` and
    :meth:`clean_up`. Each change on the target goes into :attr:`ledger` as it is made, and
    :meth:`roll_back` undoes it newest first when a phase fails."""

    def __init__(
        self,
        connection: Connection,
        scan: Scan,
        options: ImportOptions,
        ctx: JobContext | None,
        *,
        parts: tuple[str, ...],
        catalog: Catalog,
        tables: list[TableSpec],
        writes: dict[str, bytes],
        actions: dict[str, str],
    ) -> None:
        self.connection = connection
        self.scan = scan
        self.options = options
        self.ctx = ctx
        self.parts = parts
        self.catalog = catalog
        self.tables = tables  # the tables the import replaces
        self.writes = writes  # config file name -> its new content
        self.layout = connection.server.layout
        self.name = connection.server.name
        self.result = ImportResult(connection.label, scan.path, None, parts, config_actions=actions)
        self.result.backup_without_data = options.backup_without_data and PART_DATA in parts
        self.ident = pysecrets.token_hex(4)  # of this import's staging and old folders
        self.stage = data_folders(scan, self.layout) if PART_DATA in parts else {}
        self.dirs = list(self.stage.values())
        self.restart_units = services_to_restart(self.layout, parts)
        self.ledger = ChangeLedger()  # the changes made on the target, undone on rollback
        self.committed = False  # the tables are the bundle's (and the data staged)
        self.touched: list[str] = []  # services restarted (restarted again after a rollback)

    def log(self, text: str, *, level: EventLevel = "info") -> None:
        if self.ctx:
            self.ctx.log(text, level=level)

    def step(self, title: str) -> contextlib.AbstractContextManager[None]:
        return job_step(self.ctx, title, self.connection)

    async def checkpoint(self) -> None:
        if self.ctx:
            await self.ctx.acheckpoint()

    # 1. verify ------------------------------------------------------------------------------

    @classmethod
    async def check(
        cls,
        connection: Connection,
        path: Path,
        options: ImportOptions | None,
        ctx: JobContext | None,
        scan: Scan | None,
    ) -> BundleImport:
        """Verify the bundle (unless ``scan`` says it was; the data files' checksums are left
        to :meth:`stage_and_load`) and check it against the target: schema, columns, space,
        the config files to write. Changes nothing."""
        options = options or ImportOptions()
        with job_step(ctx, "Verify the bundle", connection):
            if scan is None:
                size = path.stat().st_size if path.exists() else 0
                progress = ByteProgress(ctx, "Verifying", size or None)
                scan = await asyncio.get_running_loop().run_in_executor(
                    connection.executors.transfers,
                    lambda: scan_bundle(path, progress=progress, hash_data=False),
                )
            parts = chosen_parts(scan.manifest, options.parts)
            catalog, version = await asyncio.gather(
                read_catalog(connection, connection.server.layout), playout_version(connection)
            )
            tables = check_schema(scan.manifest, parts, catalog, version, connection.label)
            await check_space(connection, scan, parts, tables)
            writes, actions = (
                plan_config(scan, connection, options.addresses)
                if PART_CONFIG in parts
                else ({}, {})
            )
        checked = cls(
            connection, scan, options, ctx,
            parts=parts, catalog=catalog, tables=tables, writes=writes, actions=actions,
        )  # fmt: skip
        for name, action in actions.items():
            checked.log(f"{name}: {action}")
        await checked.checkpoint()
        return checked

    async def run(self, started: float) -> ImportResult:
        """The phases after :meth:`check`, the backup taken while the bundle is staged; a
        failure is rolled back. Before the commit nothing live has changed: the backup is
        cancelled, and a bundle refused while it streams (:class:`BundleError`: a damaged
        data file, table data PostgreSQL does not read) has its finished backup removed."""
        backing_up = asyncio.ensure_future(
            self.back_up(backup_file(self.name, self.options.backup_dir))
        )
        try:
            await self.stage_and_load(backing_up)
            await self.switch()
            await self.restart_and_verify()
        except (Exception, Cancelled, asyncio.CancelledError) as exc:
            backup = await settled(backing_up)
            await self.roll_back(backup)
            if isinstance(exc, BundleError) and not self.committed and backup:
                backup.unlink(missing_ok=True)
                self.result.backup = None
                self.log(f"the bundle was refused and nothing was changed: {backup} removed")
            if not self.committed and (isinstance(exc, PmcError) or backup is None):
                raise unchanged(exc) from exc.__cause__  # the same error, saying so
            raise BundleOperationFailed(
                f"the import failed and was rolled back to the backup ({exc})",
                where=self.connection.label,
                hint=f"The previous configuration is back in place; the backup stays at {backup}",
            ) from exc
        await self.clean_up()
        self.result.seconds = time.monotonic() - started
        self.record()
        return self.result

    # 2. back up ----------------------------------------------------------------------------

    async def back_up(self, path: Path) -> Path:
        """The automatic backup (:mod:`pmc.bundle.import_backup`) into ``path``, run beside
        :meth:`stage_and_load`; returns its path."""
        with self.step("Back up the target"):
            without_data = self.result.backup_without_data
            options = ExportOptions.from_parts(backup_parts(self.parts, without_data=without_data))
            quiet = self.ctx.without_progress() if self.ctx else None  # the staging's bar
            backup = await export_bundle(self.connection, path, options, quiet)
        self.result.backup = backup.path
        held = holds(self.result.backup_without_data)
        self.log(f"backup of {self.name}{held} written to {backup.path}")
        return backup.path

    # 3. stage + load -----------------------------------------------------------------------

    async def stage_and_load(self, backing_up: asyncio.Future[Path]) -> None:
        """One pass over the bundle: the tables into the database in one transaction, the
        data folders into ``FOLDER.pmc-stage-ID``; the transaction swaps the tables and
        commits at the end, once the backup ``backing_up`` is written."""
        connection, scan = self.connection, self.scan
        with self.step("Stage files and load the database"):
            if self.dirs:  # the staging folders, and the old ones once switched
                argv = ("sh", "-c", UNSWITCH_SCRIPT, "pmc", self.ident, *self.dirs)
                self.ledger.reverse_with(self.name, argv, timeout=connection.timeouts.command)
            found, _ = await asyncio.gather(  # each a round trip: side by side
                asyncio.gather(*(executable_files(connection, d) for d in self.stage.values())),
                on_folders(connection, STAGE_SCRIPT, self.ident, self.dirs),
            )
            executable = dict(zip(self.stage, found, strict=True))
            async with contextlib.AsyncExitStack() as opened:
                db = None
                if self.tables:
                    pg = await opened.enter_async_context(target_database(connection))
                    db = TableLoad(
                        pg, self.tables, self.catalog, rows=scan.checksums.rows,
                        cycles=self.cycles(), where=connection.label, bundle=str(scan.path),
                    )  # fmt: skip
                progress = ByteProgress(self.ctx, "Importing", scan.checksums.total_bytes)
                staging = {k: f"{d}.pmc-stage-{self.ident}" for k, d in self.stage.items()}
                await load_in_one_pass(
                    connection, scan, staging, db, progress,
                    executable=executable, before_swap=backing_up, streams=self.options.streams,
                )  # fmt: skip
            self.committed = True
            self.ledger.reload(self.name, str(self.result.backup))
            progress.report()

    def cycles(self) -> bool:
        """Whether the loaded tables reference each other in a circle in the target's catalog
        (then swapped with the foreign-key triggers off: ``session_replication_role =
        replica``); never because the bundle's manifest says so (its ``fk_cycles`` is the
        source's, and a crafted one would load rows whose references do not exist)."""
        loaded = {t.name for t in self.tables}
        return bool(loaded & set(self.catalog.cycles))

    # 4. switch -----------------------------------------------------------------------------

    async def switch(self) -> None:
        """The staged data folders into place (the old ones kept beside them until the end),
        owned as the old ones were; the config files written atomically with backups."""
        with self.step("Switch to the imported configuration"):
            await on_folders(self.connection, SWITCH_SCRIPT, self.ident, self.dirs)
            for name, data in self.writes.items():
                remote = config_path(self.layout, name)
                written = await files.write_atomic(self.connection, remote, data)
                self.ledger.wrote(self.name, remote, written.backup)

    # 5. restart and verify -----------------------------------------------------------------

    async def restart_and_verify(self) -> None:
        """Restart what the import affects, all together (none waits for another; each must
        be active again; a unit the server does not have is skipped and said), then every
        table must have the bundle's rows."""
        connection, result = self.connection, self.result
        with self.step("Restart services and verify"):
            if self.options.restart:
                units = [unit for unit, _ in self.restart_units]
                found = await asyncio.gather(*(services.status(connection, u) for u in units))
                for (unit, why), status in zip(self.restart_units, found, strict=True):
                    if not status.exists:
                        result.notes.append(f"{unit} is not installed on {self.name}; skipped")
                        continue
                    self.log(f"restarting {unit} ({why})")
                    self.touched.append(unit)
                ended = await asyncio.gather(
                    *(services.restart_active(connection, unit) for unit in self.touched),
                    return_exceptions=True,  # every restart ends before a rollback begins
                )
                for unit, end in zip(self.touched, ended, strict=True):
                    if isinstance(end, ServiceNotActive):
                        raise BundleOperationFailed(
                            f"{unit} is {end.state} after the import",
                            where=connection.label,
                            hint="The previous configuration is being restored from the backup",
                        ) from end
                    if isinstance(end, BaseException):
                        raise end
                    result.restarted.append(unit)
            loaded = {t.name for t in self.tables}
            counts = await target_counts(connection, sorted(loaded))
            for name in loaded:
                want = self.scan.checksums.rows.get(name, 0)
                if counts.get(name) != want:
                    raise BundleOperationFailed(
                        f"table {name} has {plural(counts.get(name, 0), 'row')} after the "
                        f"import, the bundle has {want}",
                        where=connection.label,
                    )
            result.rows = counts

    # 6. clean up ---------------------------------------------------------------------------

    async def clean_up(self) -> None:
        """The old data folders (and any staging one) go; a failure here changes nothing."""
        await on_folders(self.connection, CLEANUP_SCRIPT, self.ident, self.dirs, check=False)
        loaded = {t.name for t in self.tables}
        keep = self.catalog.dependents(loaded) if self.tables else []
        if keep:
            self.result.notes.append(
                f"kept the target's {', '.join(keep)} (rows of removed services dropped)"
            )

    def record(self) -> None:
        """What was imported, in the server's audit log."""
        result, name = self.result, self.name
        rows = dict(sorted(result.rows.items()))
        imported = {"bundle": result.bundle.name, "parts": list(self.parts), "rows": rows}
        audit_trail.note(name, "imported", imported)
        audit_trail.summarize(name, str(result))

    # on failure ----------------------------------------------------------------------------

    async def roll_back(self, backup: Path | None) -> None:
        """Undo the ledger newest first (the connection made again if it was cut, the lock
        taken again), then restart on the old configuration what the import restarted."""
        connection = self.connection
        self.log("rolling back to the state before the import", level="warning")
        errors: list[str] = []
        if said := await reconnect(connection):
            errors.append(said)
        try:
            await hold_again([connection], lambda text: self.log(text, level="warning"))
            for undo in self.ledger.newest_first():
                if undo.kind is UndoKind.RELOAD:
                    await reload_tables(connection, Path(undo.path), self.catalog)
                else:
                    await undo_change(connection, undo)
            if self.committed:
                api = [u for u, _ in self.restart_units if u == self.layout.api_service]
                for unit in self.touched or api:
                    await services.restart_active(connection, unit)
                    self.log(f"{unit} restarted on the restored configuration")
        except (Exception, Cancelled) as exc:
            errors.append(str(exc))
        if errors:
            raise rollback_unfinished(
                connection, errors, backup, self.ident, self.dirs,
                without_data=self.result.backup_without_data,
            )  # fmt: skip
