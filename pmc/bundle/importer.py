"""Import a bundle into a server: verify, back up, stage, load, switch, restart, verify.

Order of work, and why nothing is ever left half-done:

1. **Verify** the whole bundle locally (every name, type, size, checksum, the trailer) and
   check it against the target: the Playout version and every table and column must exist
   there (else *newer Playout schema*), and the data must fit its free space. Any refusal
   happens here, before the target is touched.
2. **Back up** the target: an automatic export of every part that will be replaced, kept on
   this computer; its path is in the result and the job log.
3. **Stage and load in one pass** over the bundle (each member is checked against the
   verified checksums as it streams, so a file that changed since step 1 is caught):
   one ``psql`` session opens a transaction, deletes the tables in reverse foreign-key order
   (rows of tables that are not imported but reference imported ones — the EPG when it is left
   out — are set aside and put back where their references still exist) and ``COPY``s each
   table in order; the data folders stream into ``FOLDER.pmc-stage-ID`` beside each folder.
   The transaction commits only after the whole bundle was staged; a failure or a cut
   connection before that rolls the database back by itself.
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
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pmc import paths
from pmc.bundle.adapt import Peer, adapt
from pmc.bundle.archive import BLOCK, CHUNK, BundleReader
from pmc.bundle.catalog import (
    Catalog,
    copy_columns,
    dependents,
    playout_version,
    psql_argv,
    quote_ident,
    read_catalog,
    version_tuple,
)
from pmc.bundle.errors import BundleOperationFailed, NewerSchema, NotEnoughSpace
from pmc.bundle.export import ExportOptions, ExportResult, export_bundle, free_bytes
from pmc.bundle.manifest import (
    CONFIG_FILES,
    PART_CONFIG,
    PART_DATA,
    Manifest,
    TableSpec,
)
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
from pmc.bundle.progress import ByteProgress, human_bytes
from pmc.catalog import PART_DATABASE, PART_EPG
from pmc.errors import Cancelled, PmcError
from pmc.jobs import JobContext
from pmc.layout import PlayoutLayout
from pmc.remote import files, services
from pmc.remote.commands import run
from pmc.remote.connection import Connection

ADDRESS_POLICIES = ("keep", "adapt")
# The Playout Control Protocol daemons (TCP 2001, 5000, 5555; PLAYOUT-FACTS.md)
PLAYOUT_DAEMONS = ("playout-scheduler", "eit-update", "playout-admin")


def services_to_restart(layout: PlayoutLayout, parts: tuple[str, ...]) -> list[tuple[str, str]]:
    """(unit, why) for every service the imported ``parts`` affect, each once, in order."""
    found: dict[str, str] = {}
    database = PART_DATABASE in parts or PART_EPG in parts
    if PART_CONFIG in parts:
        found[layout.api_service] = "reads spoolers.json and replicate.conf"
    elif database:
        found[layout.api_service] = "serves the configuration database to the Web Console"
    if database:
        for unit in PLAYOUT_DAEMONS:
            found[unit] = "reads the configuration database" + (
                " and the EPG" if unit == "eit-update" and PART_EPG in parts else ""
            )
    if PART_DATA in parts:
        found.setdefault("playout-scheduler", "plays out the carousel, av and ts files")
    return list(found.items())


SPACE_MARGIN = 1.1


@dataclass(frozen=True)
class ImportOptions:
    parts: tuple[str, ...] | None = None  # None: every part the bundle has
    addresses: str = "keep"  # for spoolers.json / replicate.conf of another server
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


# --- checks before anything changes ------------------------------------------------------
def chosen_parts(manifest: Manifest, wanted: tuple[str, ...] | None) -> tuple[str, ...]:
    if wanted is None:
        return manifest.parts
    missing = [p for p in wanted if p not in manifest.parts]
    if missing:
        raise BundleOperationFailed(
            f"the bundle has no {', '.join(missing)} part (it has {', '.join(manifest.parts)})",
            hint="Choose parts the bundle holds. Nothing was changed on any server.",
        )
    return tuple(p for p in manifest.parts if p in wanted)


def check_schema(
    manifest: Manifest, parts: tuple[str, ...], catalog: Catalog, target_version: str, where: str
) -> list[TableSpec]:
    """The bundle's tables to load; :class:`NewerSchema` if the target cannot take them."""
    ours = version_tuple(manifest.source.playout_version)
    theirs = version_tuple(target_version)
    if ours and theirs and ours > theirs:
        raise NewerSchema(
            f"the bundle comes from Playout {manifest.source.playout_version}, newer than the "
            f"target's {target_version}",
            where=where,
            hint="Update Playout on the target first. Nothing was changed on any server.",
        )
    tables = [t for t in manifest.tables if t.part in parts]
    for spec in tables:
        have = catalog.specs.get(spec.name)
        if have is None:
            raise NewerSchema(
                f"the bundle's table {spec.name!r} does not exist on the target: the bundle "
                "comes from a newer Playout schema",
                where=where,
                hint="Update Playout on the target first. Nothing was changed on any server.",
            )
        target_cols = dict(have.columns)
        for column, sqltype in spec.columns:
            if column not in target_cols:
                raise NewerSchema(
                    f"column {spec.name}.{column} of the bundle does not exist on the target: "
                    "the bundle comes from a newer Playout schema",
                    where=where,
                    hint="Update Playout on the target first. Nothing was changed on any server.",
                )
            if target_cols[column] != sqltype:
                raise NewerSchema(
                    f"column {spec.name}.{column} is {sqltype} in the bundle but "
                    f"{target_cols[column]} on the target (a different Playout schema)",
                    where=where,
                    hint="Use a bundle from the same Playout version. Nothing was changed.",
                )
    return tables


def plan_config(
    scan: Scan, connection: Connection, policy: str
) -> tuple[dict[str, bytes], dict[str, str]]:
    """What to write for each config file, and what the operator is told about it."""
    server = connection.server
    source = scan.manifest.source
    same = source.address == server.management_address
    writes: dict[str, bytes] = {}
    actions: dict[str, str] = {}
    theirs = Peer(source.server, source.address, source.redundancy_address)
    ours = Peer(server.name, server.management_address, server.redundancy_address or "")
    for name in CONFIG_FILES:
        data = scan.small.get(f"config/{name}")
        if data is None:
            actions[name] = "not in the bundle; the target's file is kept"
            continue
        if same or policy == "adapt":
            try:  # read by its codec even when restored as it is: the API must start on it
                adapted = adapt(name, data, theirs, theirs if same else ours)
            except PmcError as exc:
                raise BundleOperationFailed(
                    f"the bundle's {name} cannot be "
                    f"{'restored' if same else 'adapted'} on {server.name}: {exc}",
                    where=str(scan.path),
                    hint="Import without the API config part, or keep the target's own "
                    "addresses. Nothing was changed.",
                ) from exc
            if same:
                writes[name] = data
                actions[name] = "restored from the bundle (same server)"
                continue
            writes[name] = adapted
            actions[name] = (
                f"adapted: {source.server}'s addresses exchanged with {server.name}'s "
                f"({server.name} in {source.server}'s place)"
            )
        else:
            actions[name] = (
                f"skipped: it names the addresses of {source.server} ({source.address}); "
                f"{server.name} keeps its own"
            )
    return writes, actions


async def check_space(connection: Connection, scan: Scan, parts: tuple[str, ...]) -> None:
    if PART_DATA not in parts:
        return
    need = 0
    by_key: dict[str, int] = {}
    for name, (size, _) in scan.files.items():
        key = name.split("/")[1]
        by_key[key] = by_key.get(key, 0) + size
    layout = connection.server.layout
    for key, size in by_key.items():
        need = int(size * SPACE_MARGIN) + (64 << 20)
        free = await free_bytes(connection, layout.data_dirs[key])
        if need > free:
            raise NotEnoughSpace(
                f"the bundle's {key} files need {human_bytes(size)} but only "
                f"{human_bytes(free)} are free on the target's {layout.data_dirs[key]} "
                "(the new files are staged beside the old ones before the switch)",
                where=connection.label,
                hint="Free space on the target or import without the data part. Nothing was "
                "changed on any server.",
            )


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
    await check_space(connection, scan, parts)
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
        and any(t.part == PART_EPG for t in catalog.specs.values())
        and PART_DATABASE in parts
    ):
        result.notes.append(
            "the target's EPG is kept (events of services that the bundle removes are dropped)"
        )
    return result


# --- the import ---------------------------------------------------------------------------
def _tar_header(name: str, size: int, *, is_dir: bool, mode: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = mode & 0o7777
    info.mtime = mtime
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict")


def load_script_head(
    tables: list[TableSpec], keep: list[str], catalog: Catalog, cycles: bool
) -> str:
    """SQL before the COPYs: transaction, rows set aside, deletes in reverse FK order."""
    lines = ["\\set ON_ERROR_STOP 1", "BEGIN;", "SET LOCAL lock_timeout = '60s';"]
    if cycles:
        lines.append("SET LOCAL session_replication_role = replica;")
    for name in keep:
        lines.append(
            f"CREATE TEMP TABLE {quote_ident('pmc_keep_' + name)} ON COMMIT DROP AS "
            f"SELECT * FROM public.{quote_ident(name)};"
        )
    for name in reversed(keep):
        lines.append(f"DELETE FROM public.{quote_ident(name)};")
    for spec in reversed(tables):
        lines.append(f"DELETE FROM public.{quote_ident(spec.name)};")
    return "\n".join(lines) + "\n"


def load_script_tail(keep: list[str], catalog: Catalog, loaded: set[str]) -> str:
    """SQL after the COPYs: set-aside rows put back where their references still exist."""
    lines = []
    present = loaded | set(keep)
    for name in keep:
        conds = []
        for key in catalog.fkeys:
            if key.child != name or key.parent not in present:
                continue
            nulls = " OR ".join(f"k.{quote_ident(c)} IS NULL" for c in key.child_columns)
            match = " AND ".join(
                f"p.{quote_ident(pc)} = k.{quote_ident(cc)}"
                for cc, pc in zip(key.child_columns, key.parent_columns, strict=True)
            )
            conds.append(
                f"({nulls} OR EXISTS (SELECT 1 FROM public.{quote_ident(key.parent)} p "
                f"WHERE {match}))"
            )
        where = " AND ".join(conds) or "true"
        lines.append(
            f"INSERT INTO public.{quote_ident(name)} SELECT * FROM "
            f"{quote_ident('pmc_keep_' + name)} k WHERE {where};"
        )
    return "\n".join(lines) + ("\n" if lines else "")


class _Loader:
    """Streams one verified pass of the bundle into the psql session and the staging tars."""

    def __init__(  # noqa: PLR0917
        self,
        connection: Connection,
        scan: Scan,
        tables: list[TableSpec],
        stage: dict[str, str],
        psql: Pipe | None,
        start_tar: Callable[[str], Pipe],
        progress: ByteProgress,
    ) -> None:
        self.connection = connection
        self.scan = scan
        self.tables = {f"db/{t.name}.copy": t for t in tables}
        self.stage = stage
        self.psql = psql
        self.start_tar = start_tar
        self.progress = progress
        self.tar: Pipe | None = None
        self.tar_key: str | None = None

    def _end_tar(self) -> None:
        if self.tar is not None:
            self.tar.write(bytes(2 * BLOCK))
            self.tar.close_stdin()
            self.tar.finish()
            self.tar = None
            self.tar_key = None

    def run(self) -> None:
        with open(self.scan.path, "rb") as raw:
            reader = BundleReader(raw, where=str(self.scan.path), expected=self.scan.checksums)
            for member, stream in reader.members():
                name = member.name
                if name in self.tables and self.psql is not None:
                    spec = self.tables[name]
                    self.psql.write(
                        f"COPY public.{quote_ident(spec.name)} ({copy_columns(spec)}) "
                        "FROM STDIN;\n".encode()
                    )
                    while chunk := stream.read(CHUNK):
                        self.psql.write(chunk)
                        self.progress(len(chunk))
                    self.psql.write(b"\\.\n")
                    continue
                if not name.startswith("data/"):
                    continue
                key = name.split("/")[1]
                if key not in self.stage:
                    continue
                if key != self.tar_key:
                    self._end_tar()
                    self.tar = self.start_tar(key)
                    self.tar_key = key
                assert self.tar is not None
                rel = name[len(f"data/{key}") :].lstrip("/")
                if member.is_dir:
                    if rel:
                        self.tar.write(
                            _tar_header(
                                f"./{rel}", 0, is_dir=True, mode=member.mode, mtime=member.mtime
                            )
                        )
                    continue
                self.tar.write(
                    _tar_header(
                        f"./{rel}",
                        member.size,
                        is_dir=False,
                        mode=member.mode,
                        mtime=member.mtime,
                    )
                )
                while chunk := stream.read(CHUNK):
                    self.tar.write(chunk)
                    self.progress(len(chunk))
                if member.size % BLOCK:
                    self.tar.write(bytes(BLOCK - member.size % BLOCK))
            self._end_tar()


SWITCH_SCRIPT = """
set -e
id="$1"; shift
for d in "$@"; do
  if [ -e "$d" ]; then mv -- "$d" "$d.pmc-old-$id"; fi
  mv -- "$d.pmc-stage-$id" "$d"
done
"""

UNSWITCH_SCRIPT = """
id="$1"; shift
for d in "$@"; do
  rm -rf -- "$d.pmc-stage-$id"
  if [ -e "$d.pmc-old-$id" ]; then rm -rf -- "$d" && mv -- "$d.pmc-old-$id" "$d"; fi
done
exit 0
"""

STAGE_SCRIPT = """
id="$1"; shift
for d in "$@"; do
  rm -rf -- "$d.pmc-stage-$id"
  mkdir -p -- "$d.pmc-stage-$id"
  if [ -d "$d" ]; then chown --reference="$d" -- "$d.pmc-stage-$id"; \
chmod --reference="$d" -- "$d.pmc-stage-$id"; fi
done
"""

OWNER_SCRIPT = """
id="$1"; shift
for d in "$@"; do
  if [ -d "$d.pmc-old-$id" ]; then chown -R --reference="$d.pmc-old-$id" -- "$d"; fi
done
"""

CLEANUP_SCRIPT = """
id="$1"; shift
for d in "$@"; do rm -rf -- "$d.pmc-old-$id" "$d.pmc-stage-$id"; done
"""


async def import_bundle(
    connection: Connection,
    path: Path,
    options: ImportOptions | None = None,
    ctx: JobContext | None = None,
    *,
    scan: Scan | None = None,
) -> ImportResult:
    """Import the bundle at ``path`` into ``connection``'s server; see the module docs."""
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
        await check_space(connection, scan, parts)
        writes, actions = (
            plan_config(scan, connection, options.addresses) if PART_CONFIG in parts else ({}, {})
        )
    result = ImportResult(connection.label, path, None, parts, config_actions=actions)
    for name, action in actions.items():
        log(f"{name}: {action}")
    if ctx:
        await ctx.acheckpoint()

    # 2. back up ----------------------------------------------------------------------------
    backup_dir = options.backup_dir or default_backup_dir()
    backup_dir.mkdir(parents=True, exist_ok=True)
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
    keep = dependents(catalog, loaded) if tables else []
    cycles = bool(scan.manifest.fk_cycles) or bool(catalog.cycles and loaded & set(catalog.cycles))
    committed = False
    switched = False
    config_backups: dict[str, str | None] = {}
    restart_units = services_to_restart(layout, parts)
    layout_name = connection.server.name
    touched: list[str] = []  # services restarted (to restart again after a rollback)
    psql: Pipe | None = None
    try:
        with step("Stage files and load the database"):
            if dirs:
                await run(
                    connection, ["sh", "-c", STAGE_SCRIPT, "pmc", ident, *dirs],
                    root=True, check=True,
                )  # fmt: skip
            if tables:
                psql = await Pipe.start(connection, psql_argv(layout, "-f", "-"))
            tar_pipes: dict[str, Pipe] = {}
            for key, remote in stage.items():
                tar_pipes[key] = await Pipe.start(
                    connection,
                    ["tar", "-C", f"{remote}.pmc-stage-{ident}", "-xf", "-", "--no-same-owner",
                     "--no-overwrite-dir"],
                )  # fmt: skip
            total = scan.checksums.total_bytes
            progress = ByteProgress(ctx, "Importing", total)
            loader = _Loader(
                connection, scan, tables, stage, psql, lambda k: tar_pipes[k], progress
            )

            def load() -> None:
                if psql is not None:
                    psql.write(load_script_head(tables, keep, catalog, cycles).encode())
                loader.run()
                for pipe in tar_pipes.values():  # folders without members
                    if not pipe.channel.closed and pipe is not loader.tar:
                        pipe.write(bytes(2 * BLOCK))
                        pipe.close_stdin()
                        pipe.finish(check=False)
                if psql is not None:
                    psql.write(load_script_tail(keep, catalog, loaded).encode())
                    psql.write(b"COMMIT;\n")
                    psql.close_stdin()
                    psql.finish()

            try:
                await connection.in_thread(loop_thread, load)
            except BaseException:
                for pipe in [*tar_pipes.values(), *([psql] if psql else [])]:
                    await pipe.abort()
                raise
            committed = True
            progress.report()

        # 4. switch -----------------------------------------------------------------------
        with step("Switch to the imported configuration"):
            if dirs:
                await run(
                    connection, ["sh", "-c", SWITCH_SCRIPT, "pmc", ident, *dirs],
                    root=True, check=True,
                )  # fmt: skip
                switched = True
                await run(
                    connection, ["sh", "-c", OWNER_SCRIPT, "pmc", ident, *dirs],
                    root=True, check=True,
                )  # fmt: skip
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
                    await services.restart(connection, unit)
                    state = await services.is_active(connection, unit)
                    if state != "active":
                        raise BundleOperationFailed(
                            f"{unit} is {state} after the import",
                            where=connection.label,
                            hint="The previous configuration is being restored from the backup",
                        )
                    result.restarted.append(unit)
            counts = await target_counts(connection, sorted(loaded))
            for name in loaded:
                want = scan.checksums.rows.get(name, 0)
                if counts.get(name) != want:
                    raise BundleOperationFailed(
                        f"table {name} has {counts.get(name)} rows after the import, the bundle "
                        f"has {want}",
                        where=connection.label,
                    )
            result.rows = counts
    except (Exception, Cancelled, asyncio.CancelledError) as exc:
        await _roll_back(
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
    await run(connection, ["sh", "-c", CLEANUP_SCRIPT, "pmc", ident, *dirs], root=True)
    if keep:
        result.notes.append(
            f"kept the target's {', '.join(keep)} (rows of removed services dropped)"
        )
    result.seconds = time.monotonic() - started
    return result


async def _roll_back(  # noqa: PLR0917
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
        if dirs:
            await run(
                connection, ["sh", "-c", UNSWITCH_SCRIPT, "pmc", ident, *dirs],
                root=True, check=True,
            )  # fmt: skip
        for remote, saved in config_backups.items():
            # the file as it was (the import's backup copy goes too), or gone if it was new
            if saved:
                await files.restore_backup(connection, remote, saved)
            await run(connection, ["rm", "-f", "--", saved or remote], root=True, check=True)
        if committed:
            layout = connection.server.layout
            bscan = await connection.in_thread(
                connection.executors.transfers, scan_bundle, backup.path
            )
            tables = [t for t in bscan.manifest.tables]
            loaded = {t.name for t in tables}
            keep = dependents(catalog, loaded)
            psql = await Pipe.start(connection, psql_argv(layout, "-f", "-"))
            loader = _Loader(
                connection, bscan, tables, {}, psql, lambda k: psql,
                ByteProgress(None, "Restoring", None),
            )  # fmt: skip

            def load() -> None:
                psql.write(load_script_head(tables, keep, catalog, bool(catalog.cycles)).encode())
                loader.run()
                psql.write(load_script_tail(keep, catalog, loaded).encode())
                psql.write(b"COMMIT;\n")
                psql.close_stdin()
                psql.finish()

            await connection.in_thread(connection.executors.transfers, load)
        if switched or config_backups or committed:
            for unit in restart:
                await services.restart(connection, unit)
                log(f"{unit} restarted on the restored configuration")
    except (Exception, Cancelled) as exc:
        errors.append(str(exc))
    if errors:
        raise BundleOperationFailed(
            "the import failed and the rollback did not finish: " + "; ".join(errors),
            where=connection.label,
            hint=f"Restore the server from the backup at {backup.path} "
            f"(pmc import {backup.path} …) once it is reachable",
        )


def local_free_space_ok(path: Path, need: int) -> bool:
    return shutil.disk_usage(path).free > need
