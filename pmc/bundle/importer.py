"""Import a bundle into a server: verify, back up, stage, load, switch, restart, verify.

Order of work, and why nothing is ever left half-done:

1. **Verify** the whole bundle locally (every name, type, size, checksum, the trailer) and
   check it against the target: the Playout version and every table and column must exist
   there (else *newer Playout schema*), and the whole job must fit each of the target's
   filesystems (:func:`~pmc.bundle.import_plan.check_space`). Any refusal happens here,
   before the target is touched (once the cluster lock is taken, which also clears what an
   earlier failed job left: :mod:`pmc.cluster_lock`).
2. **Back up** the target: an automatic export of every part that will be replaced, kept on
   this computer; its path is in the result and the job log.
3. **Stage and load in one pass** over the bundle (each member is checked against the
   verified checksums as it streams, so a file that changed since step 1 is caught): the
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
5. **Restart** what the imported parts affect (:func:`services_to_restart`: ``playout-api``
   for the API config and the database it serves, the Playout daemons ``playout-scheduler``,
   ``eit-update`` and ``playout-admin`` after a database or EPG import — the seed: imports
   need service restarts — and ``playout-scheduler`` for new data files; a unit the server
   does not have is skipped and said) and **verify**: each restarted service is active, every
   table has the bundle's row count. Then the old folders are removed.

A failure after the commit rolls back to the backup: old folders renamed back, config files
restored, the tables reloaded from the backup bundle, the same services restarted.

The target's own addresses: spoolers.json and replicate.conf name the servers of *their*
cluster. From a bundle of the same server they are restored as they are; from another server
they are kept as the target has them (``keep``, the default) or adapted (``adapt``: the
source's and the target's addresses and names exchanged through each file's codec, see
:mod:`pmc.bundle.adapt`), and the result says which.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets as pysecrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from pmc import audit_trail, paths
from pmc.bundle.archive import BLOCK
from pmc.bundle.errors import BundleOperationFailed
from pmc.bundle.export import ExportOptions, ExportResult, export_bundle
from pmc.bundle.import_db import TableLoad, target_database
from pmc.bundle.import_load import (
    CLEANUP_SCRIPT,
    OWNER_SCRIPT,
    STAGE_SCRIPT,
    SWITCH_SCRIPT,
    Loader,
    executable_files,
    on_folders,
)
from pmc.bundle.import_plan import (
    AddressPolicy,
    check_schema,
    check_space,
    chosen_parts,
    plan_config,
    services_to_restart,
)
from pmc.bundle.import_rollback import roll_back
from pmc.bundle.manifest import CONFIG_FILES, PART_CONFIG, PART_DATA
from pmc.bundle.pipe import Pipe
from pmc.bundle.preview import (
    Preview,
    Scan,
    config_diff,
    diff_files,
    diff_rows,
    scan_bundle,
    target_counts,
    target_files,
    target_table_text,
)
from pmc.bundle.progress import ByteProgress
from pmc.bundle.schema import playout_version
from pmc.catalog import PART_DATABASE, PART_EPG, read_catalog
from pmc.cluster_lock import cluster_lock
from pmc.errors import Cancelled, PmcError
from pmc.jobs import JobContext
from pmc.remote import files, services
from pmc.remote.connection import Connection
from pmc.remote.errors import ServiceNotActive
from pmc.words import plural


@dataclass(frozen=True)
class ImportOptions:
    parts: tuple[str, ...] | None = None  # None: every part the bundle has
    addresses: AddressPolicy = "keep"  # for spoolers.json / replicate.conf of another server
    backup_dir: Path | None = None  # where the automatic backup goes
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

    def __str__(self) -> str:
        text = (
            f"imported {self.bundle.name} into {self.target} ({', '.join(self.parts)}) "
            f"in {self.seconds:.1f} s"
        )
        if self.restarted:
            text += f"; restarted and active: {', '.join(self.restarted)}"
        if self.backup:
            text += f"; backup of the previous configuration: {self.backup}"
        return text


def default_backup_dir() -> Path:
    """Where automatic backups go: ``backups/`` in PMC's user data folder."""
    return Path(paths.data_dir()) / "backups"


async def preview_import(
    connection: Connection,
    scan: Scan,
    options: ImportOptions | None = None,
) -> Preview:
    """The difference the import would make on ``connection``'s server (changes nothing)."""
    options = options or ImportOptions()
    parts = chosen_parts(scan.manifest, options.parts)
    layout = connection.server.layout
    result = Preview(scan, connection.label)
    catalog, version = await asyncio.gather(
        read_catalog(connection, layout), playout_version(connection)
    )
    tables = check_schema(scan.manifest, parts, catalog, version, connection.label)
    await check_space(connection, scan, parts, tables)
    counts = await target_counts(connection, [t.name for t in tables])
    for spec in tables:
        result.tables[spec.name] = (scan.checksums.rows.get(spec.name, 0), counts[spec.name])
        member = f"db/{spec.name}.copy"
        if member in scan.small:
            cols = [c for c, _ in spec.columns]
            theirs = await target_table_text(connection, spec.name, cols)
            result.rows.append(
                diff_rows(spec.name, cols, scan.small[member].decode("utf-8", "replace"), theirs)
            )
    if PART_DATA in parts:
        for key, path in layout.data_dirs.items():
            if f"data/{key}" not in scan.dirs and not any(
                n.startswith(f"data/{key}/") for n in scan.files
            ):
                continue
            ours = {
                n[len(f"data/{key}/") :]: v
                for n, v in scan.files.items()
                if n.startswith(f"data/{key}/")
            }
            result.files.append(diff_files(key, ours, await target_files(connection, path)))
    if PART_CONFIG in parts:
        writes, actions = plan_config(scan, connection, options.addresses)
        result.config_actions = actions
        for name in CONFIG_FILES:
            remote = layout.spoolers_json if name == "spoolers.json" else layout.replicate_conf
            if name in writes:
                try:
                    current = await files.read_bytes(connection, remote)
                except PmcError:
                    current = None
                result.config_diffs[name] = config_diff(name, writes[name], current)
    if (
        PART_EPG not in parts
        and any(t.part == PART_EPG for t in catalog.tables.values())
        and PART_DATABASE in parts
    ):
        result.notes.append(
            "the target's EPG is kept (events of services that the bundle removes are dropped)"
        )
    return result


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
        return await _import(connection, path, options, ctx, scan=scan)


async def _import(
    connection: Connection,
    path: Path,
    options: ImportOptions | None,
    ctx: JobContext | None,
    *,
    scan: Scan | None,
) -> ImportResult:
    options = options or ImportOptions()
    started = time.monotonic()
    path = Path(path)
    log = ctx.log if ctx else (lambda *_a, **_k: None)
    layout = connection.server.layout
    loop_thread = connection.executors.transfers

    def step(title: str) -> contextlib.AbstractContextManager[None]:
        return ctx.step(title, server=connection.label) if ctx else contextlib.nullcontext()

    # 1. verify -----------------------------------------------------------------------------
    with step("Verify the bundle"):
        if scan is None:
            size = path.stat().st_size if path.exists() else 0
            progress = ByteProgress(ctx, "Verifying", size or None)
            scan = await asyncio.get_running_loop().run_in_executor(
                loop_thread, lambda: scan_bundle(path, progress=progress)
            )
        parts = chosen_parts(scan.manifest, options.parts)
        catalog, version = await asyncio.gather(
            read_catalog(connection, layout), playout_version(connection)
        )
        tables = check_schema(scan.manifest, parts, catalog, version, connection.label)
        await check_space(connection, scan, parts, tables)
        writes, actions = (
            plan_config(scan, connection, options.addresses) if PART_CONFIG in parts else ({}, {})
        )
    result = ImportResult(connection.label, path, None, parts, config_actions=actions)
    for name, action in actions.items():
        log(f"{name}: {action}")
    if ctx:
        await ctx.acheckpoint()

    # 2. back up ----------------------------------------------------------------------------
    if options.backup_dir is None:  # in PMC's own folders: private (backups are full dumps)
        backup_dir = default_backup_dir()
        paths.private_dir(backup_dir.parent)
        paths.private_dir(backup_dir)
    else:
        backup_dir = paths.ensure_dir(options.backup_dir)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    backup_path = backup_dir / f"{connection.server.name}-before-import-{stamp}.pmcbundle"
    backup_parts = set(parts) | {PART_CONFIG}
    if PART_DATABASE in parts:
        backup_parts.add(PART_EPG)  # set-aside EPG rows may be dropped; keep them
    with step("Back up the target"):
        backup: ExportResult = await export_bundle(
            connection, backup_path, ExportOptions.from_parts(list(backup_parts)), ctx
        )
    result.backup = backup.path
    log(f"backup of {connection.server.name} written to {backup.path}")
    if ctx:
        await ctx.acheckpoint()

    # 3. stage + load -----------------------------------------------------------------------
    ident = pysecrets.token_hex(4)
    data_keys = []
    if PART_DATA in parts:
        data_keys = [
            k
            for k in layout.data_dirs
            if f"data/{k}" in scan.dirs or any(n.startswith(f"data/{k}/") for n in scan.files)
        ]
    stage = {k: layout.data_dirs[k] for k in data_keys}
    dirs = list(stage.values())
    loaded = {t.name for t in tables}
    keep = catalog.dependents(loaded) if tables else []
    cycles = bool(scan.manifest.fk_cycles) or bool(catalog.cycles and loaded & set(catalog.cycles))
    committed = False
    switched = False
    config_backups: dict[str, str | None] = {}
    restart_units = services_to_restart(layout, parts)
    layout_name = connection.server.name
    touched: list[str] = []  # services restarted (to restart again after a rollback)
    try:
        with step("Stage files and load the database"):
            executable = {k: await executable_files(connection, d) for k, d in stage.items()}
            await on_folders(connection, STAGE_SCRIPT, ident, dirs)
            async with contextlib.AsyncExitStack() as opened:
                db = None
                if tables:
                    pg = await opened.enter_async_context(target_database(connection))
                    db = TableLoad(
                        pg, tables, catalog, rows=scan.checksums.rows, cycles=cycles,
                        where=connection.label, bundle=str(path),
                    )  # fmt: skip
                tar_pipes: dict[str, Pipe] = {}
                for key, remote in stage.items():
                    tar_pipes[key] = await Pipe.start(
                        connection,
                        ["tar", "-C", f"{remote}.pmc-stage-{ident}", "-xf", "-",
                         "--no-same-owner", "--no-overwrite-dir"],
                    )  # fmt: skip
                progress = ByteProgress(ctx, "Importing", scan.checksums.total_bytes)
                loader = Loader(scan, stage, db, lambda k: tar_pipes[k], progress, executable)

                def load() -> None:
                    if db is not None:
                        db.begin()
                    loader.run()
                    for pipe in tar_pipes.values():  # folders without members
                        if not pipe.channel.closed and pipe is not loader.tar:
                            pipe.write(bytes(2 * BLOCK))
                            pipe.close_stdin()
                            pipe.finish(check=False)
                    if db is not None:
                        db.swap()
                        db.commit()

                try:
                    await connection.in_thread(loop_thread, load)
                except BaseException:
                    for pipe in tar_pipes.values():
                        await pipe.abort()
                    raise
            committed = True
            progress.report()

        # 4. switch -----------------------------------------------------------------------
        with step("Switch to the imported configuration"):
            await on_folders(connection, SWITCH_SCRIPT, ident, dirs)
            switched = bool(dirs)
            await on_folders(connection, OWNER_SCRIPT, ident, dirs)
            for name, data in writes.items():
                remote = layout.spoolers_json if name == "spoolers.json" else layout.replicate_conf
                written = await files.write_atomic(connection, remote, data)
                config_backups[remote] = written.backup

        # 5. restart and verify -----------------------------------------------------------
        with step("Restart services and verify"):
            if options.restart:
                for unit, why in restart_units:
                    if not (await services.status(connection, unit)).exists:
                        result.notes.append(f"{unit} is not installed on {layout_name}; skipped")
                        continue
                    log(f"restarting {unit} ({why})")
                    touched.append(unit)
                    try:
                        await services.restart_active(connection, unit)
                    except ServiceNotActive as exc:
                        raise BundleOperationFailed(
                            f"{unit} is {exc.state} after the import",
                            where=connection.label,
                            hint="The previous configuration is being restored from the backup",
                        ) from exc
                    result.restarted.append(unit)
            counts = await target_counts(connection, sorted(loaded))
            for name in loaded:
                want = scan.checksums.rows.get(name, 0)
                if counts.get(name) != want:
                    raise BundleOperationFailed(
                        f"table {name} has {plural(counts.get(name, 0), 'row')} after the "
                        f"import, the bundle has {want}",
                        where=connection.label,
                    )
            result.rows = counts
    except (Exception, Cancelled, asyncio.CancelledError) as exc:
        await roll_back(
            connection, ident, dirs, committed, switched, config_backups, backup, catalog, ctx,
            restart=touched or [u for u, _ in restart_units if u == layout.api_service],
        )  # fmt: skip
        if isinstance(exc, PmcError) and not committed:
            raise
        raise BundleOperationFailed(
            f"the import failed and was rolled back to the backup ({exc})",
            where=connection.label,
            hint=f"The previous configuration is back in place; the backup stays at {backup.path}",
        ) from exc
    await on_folders(connection, CLEANUP_SCRIPT, ident, dirs, check=False)
    if keep:
        result.notes.append(
            f"kept the target's {', '.join(keep)} (rows of removed services dropped)"
        )
    result.seconds = time.monotonic() - started
    rows = dict(sorted(result.rows.items()))
    imported = {"bundle": path.name, "parts": list(parts), "rows": rows}
    audit_trail.note(connection.server.name, "imported", imported)  # the server's audit log
    audit_trail.summarize(connection.server.name, str(result))
    return result


def local_free_space_ok(path: Path, need: int) -> bool:
    return shutil.disk_usage(path).free > need
