"""The native delta engine: compare primary and secondary, copy only what differs.

Tables are read through SSH tunnels to each server's PostgreSQL (``127.0.0.1`` as the server
sees it, so no pg_hba change is needed for PMC); data folders through commands and tar
streams. The database part is one transaction on the secondary (see
:mod:`pmc.sync.table_rows`); files follow once it committed. A dry run computes the same delta
and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import psycopg

from pmc.errors import InputError
from pmc.inventory import Cluster, Server
from pmc.jobs import JobContext
from pmc.playout_database import PgConn, playout_database
from pmc.remote.connection import Connection
from pmc.sync import datafiles, table_rows
from pmc.sync.delta import DatabaseDelta, FolderDelta, Schema, SyncDelta
from pmc.words import plural

Connections = Mapping[str, Connection]


@dataclass(frozen=True)
class DeltaOptions:
    include_ts_outputs: bool = False  # the seed: TS outputs are configured on each server
    tables: bool = True
    folders: bool = True
    only_tables: tuple[str, ...] | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class DeltaResult:
    cluster: str
    primary: str
    secondary: str
    delta: SyncDelta
    dry_run: bool
    rows_changed: int = 0
    files_copied: int = 0
    files_removed: int = 0
    skipped: tuple[tuple[str, str], ...] = field(default=())

    def __str__(self) -> str:
        if self.delta.is_empty:
            return f"{self.secondary} already matches {self.primary}: nothing to copy"
        db = self.delta.database
        files = sum(f.changes for f in self.delta.folders)
        if self.dry_run:
            return (
                f"dry run: would change {plural(db.changes, 'row')} in "
                f"{plural(len(db.changed), 'table')} and {plural(files, 'file')} on "
                f"{self.secondary}"
            )
        return (
            f"copied {plural(self.rows_changed, 'row')} and {plural(self.files_copied, 'file')},"
            f" removed {plural(self.files_removed, 'file')} on {self.secondary} (from "
            f"{self.primary})"
        )


def pair(cluster: Cluster, primary: str | None = None) -> tuple[Server, Server]:
    """(source, target): from the cluster's active server (the main, until a switchover)
    to the other one, unless ``primary`` names the server to copy from."""
    main, backup = cluster.main, cluster.backup
    if main is None or backup is None:
        raise InputError(
            f"cluster {cluster.name!r} has no main and backup server to synchronize",
            hint="Synchronization works on a 1+1 cluster: give one server the role main and "
            "one the role backup in the inventory.",
        )
    if primary is None:
        active = cluster.active_server
        primary = active.name if active is not None else main.name
    if primary == main.name:
        return main, backup
    if primary == backup.name:
        return backup, main
    raise InputError(f"{primary!r} is not the main or backup server of cluster {cluster.name!r}")


def _database(conn: Connection) -> contextlib.AbstractAsyncContextManager[PgConn]:
    """A psycopg connection to the server's playout database, through an SSH tunnel, with the
    sync's session settings (:data:`~pmc.sync.table_rows.SESSION_OPTIONS`)."""
    return playout_database(
        conn, options=table_rows.SESSION_OPTIONS, refused=table_rows.unreachable
    )


@contextlib.asynccontextmanager
async def databases(
    primary: Server, secondary: Server, conns: Connections
) -> AsyncIterator[tuple[PgConn, PgConn]]:
    """psycopg connections to both servers' playout databases, through SSH tunnels: the
    primary in a repeatable-read snapshot for the whole sync."""
    async with _database(conns[primary.name]) as pg_p, _database(conns[secondary.name]) as pg_s:
        pg_p.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        yield pg_p, pg_s


def one_database(
    server: Server, conns: Connections
) -> contextlib.AbstractAsyncContextManager[PgConn]:
    """A psycopg connection to one server's playout database, through an SSH tunnel."""
    return _database(conns[server.name])


async def compare_folders(
    primary: Server, secondary: Server, conns: Connections
) -> tuple[FolderDelta, ...]:
    p_conn, s_conn = conns[primary.name], conns[secondary.name]
    folders = list(primary.layout.data_dirs.values())
    found = await asyncio.gather(
        *(datafiles.compare_folder(p_conn, s_conn, folder) for folder in folders)
    )
    return tuple(found)


def _schema(pg_p: PgConn, options: DeltaOptions) -> Schema:
    return table_rows.read_schema(
        pg_p, include_ts_outputs=options.include_ts_outputs, only=options.only_tables
    )


async def compare(
    cluster: Cluster,
    conns: Connections,
    options: DeltaOptions | None = None,
    *,
    primary_name: str | None = None,
) -> SyncDelta:
    """The delta (read only)."""
    options = options or DeltaOptions()
    primary, secondary = pair(cluster, primary_name)

    async def tables() -> DatabaseDelta:
        if not options.tables:
            return DatabaseDelta()
        async with databases(primary, secondary, conns) as (pg_p, pg_s):

            def go() -> DatabaseDelta:
                schema = _schema(pg_p, options)
                found = table_rows.compare(pg_p, pg_s, schema).delta
                pg_p.rollback()
                pg_s.rollback()
                return found

            return await asyncio.to_thread(go)

    async def folders() -> tuple[FolderDelta, ...]:
        if not options.folders:
            return ()
        return await compare_folders(primary, secondary, conns)

    db, files = await asyncio.gather(tables(), folders())
    return SyncDelta(db, files)


async def delta_sync(
    cluster: Cluster,
    conns: Connections,
    ctx: JobContext,
    options: DeltaOptions | None = None,
    *,
    primary_name: str | None = None,
) -> DeltaResult:
    """Compare, then (unless a dry run) copy what differs: tables in one transaction on the
    secondary, then files. Cancel stops at the next table or file batch; the tables roll back
    as a whole."""
    options = options or DeltaOptions()
    primary, secondary = pair(cluster, primary_name)

    def report(message: str) -> None:  # from the worker thread (job events are thread-safe)
        ctx.log(message, server=secondary.name)

    rows = 0
    db_delta = DatabaseDelta()
    skipped: tuple[tuple[str, str], ...] = ()
    if options.tables:
        with ctx.step(f"compare tables of {primary.name} and {secondary.name}"):
            async with databases(primary, secondary, conns) as (pg_p, pg_s):
                schema = await asyncio.to_thread(_schema, pg_p, options)
                skipped = schema.skipped
                for name, why in skipped:
                    ctx.log(f"table {name} left out: {why}")
                comparison = await asyncio.to_thread(
                    table_rows.compare, pg_p, pg_s, schema, names=(primary.name, secondary.name)
                )
                db_delta = comparison.delta
                verb = "differs" if db_delta.changes == 1 else "differ"
                ctx.log(
                    f"{plural(db_delta.changes, 'row')} {verb} in "
                    f"{plural(len(db_delta.changed), 'table')}"
                )
                await ctx.acheckpoint()
                if not options.dry_run and not db_delta.is_empty:
                    with ctx.step(f"write {plural(db_delta.changes, 'row')} on {secondary.name}"):
                        applying = asyncio.ensure_future(
                            asyncio.to_thread(
                                table_rows.apply_delta,
                                pg_p,
                                pg_s,
                                schema,
                                comparison,
                                cancel=ctx.cancel_requested,
                                report=report,
                                names=(primary.name, secondary.name),
                            )
                        )
                        try:
                            rows = await asyncio.shield(applying)
                        except asyncio.CancelledError:
                            # The task was cancelled: let the worker roll back before the
                            # connections close.
                            ctx.cancel_requested.set()
                            with contextlib.suppress(BaseException):
                                await applying
                            raise
                else:
                    await asyncio.to_thread(_end, pg_p, pg_s)
        ctx.progress(1, 2, unit="parts", message="tables compared, data folders next")
    folders: tuple[FolderDelta, ...] = ()
    copied = removed = 0
    if options.folders:
        await ctx.acheckpoint()
        with ctx.step("compare data folders"):
            folders = await compare_folders(primary, secondary, conns)
        for folder in folders:
            if folder.is_empty or options.dry_run:
                continue
            await ctx.acheckpoint()
            with ctx.step(
                f"copy {plural(folder.changes, 'file')} of {folder.folder}", server=secondary.name
            ):
                c, r = await datafiles.apply_folder(
                    conns[primary.name],
                    conns[secondary.name],
                    folder,
                    checkpoint=ctx.checkpoint,
                )
                copied += c
                removed += r
    ctx.progress(2, 2, unit="parts")
    delta = SyncDelta(db_delta, folders)
    if options.dry_run:
        for line in delta.lines():
            ctx.log(line)
    return DeltaResult(
        cluster.name,
        primary.name,
        secondary.name,
        delta,
        options.dry_run,
        rows,
        copied,
        removed,
        skipped,
    )


def _end(*conns: PgConn) -> None:
    for conn in conns:
        conn.rollback()
