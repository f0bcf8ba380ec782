"""Never overwrite newer changes unasked: before a sync, what the target holds that it did not
hold at the end of the last successful sync between the two servers.

A successful sync leaves on each of its two servers, in the server's audit log
(:mod:`pmc.audit_log`), that server's :class:`ServerState` right after it: per table its row
count and digest (PostgreSQL's own, :func:`pmc.sync.table_rows.digests`), per data folder its
file count and a digest of its listing (paths, sizes, modification times). Before the next
sync, :func:`look` compares the target's state now with the one it recorded then:

- a table or folder whose digest is still the recorded one holds no change of the target;
- where it differs, what the sync would overwrite there is counted (rows and files that differ
  from the source). Where both sides changed the same table, every differing row is counted:
  PMC cannot tell whose it is, and counts on the safe side.

When the target holds such changes — e.g. made on backup while it was the active server —
the sync is refused with :class:`NewerChanges` ("backup has 12 rows in 3 tables and 1 file
changed since 14:02; syncing from main would discard them"), until the operator synchronizes
the other way first, or discards them explicitly (``--discard-target-changes``, the GUI's
checkbox). A target without a record of an earlier sync with this source is refused only when
it is the cluster's active server (its differences are then counted as its changes); otherwise
the sync goes on and says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pmc import audit_log, audit_trail
from pmc.errors import PmcError
from pmc.inventory import Cluster, Server
from pmc.jobs import JobContext
from pmc.playout_database import PgConn
from pmc.remote.connection import Connection
from pmc.sync import datafiles, delta_engine, table_rows
from pmc.sync.delta import FileEntry, Schema
from pmc.words import plural

T = TypeVar("T")
Connections = Mapping[str, Connection]
Digests = Mapping[str, tuple[int, str]]


@dataclass(frozen=True)
class ServerState:
    """What a sync leaves on a server: ``(rows, digest)`` per table, ``(files, digest)``
    per data folder (by the folder's path)."""

    tables: Digests = field(default_factory=dict)
    folders: Digests = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "tables": {k: list(v) for k, v in sorted(self.tables.items())},
            "folders": {k: list(v) for k, v in sorted(self.folders.items())},
        }

    @classmethod
    def from_json(cls, data: object) -> ServerState | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                {str(k): (int(v[0]), str(v[1])) for k, v in data["tables"].items()},
                {str(k): (int(v[0]), str(v[1])) for k, v in data["folders"].items()},
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError):
            return None  # OverflowError: a count of Infinity or 1e400 in the server's log


def folder_digest(listing: Mapping[str, FileEntry]) -> tuple[int, str]:
    """A folder's file count and a digest of its listing (path, size, whole seconds of
    modification time: what the sync's quick check compares)."""
    digest = hashlib.sha256()
    for path in sorted(listing):
        entry = listing[path]
        digest.update(f"{path}\t{entry.size}\t{int(entry.mtime)}\n".encode())
    return len(listing), digest.hexdigest()


@dataclass(frozen=True)
class LastSync:
    """The last successful sync between a server and its peer, as its audit log has it."""

    time: float
    source: str
    target: str
    state: ServerState  # this server's state right after it


def last_sync(entries: list[audit_log.AuditEntry], server: str, peer: str) -> LastSync | None:
    """The newest successful sync between ``server`` and ``peer`` in ``server``'s log."""
    for entry in reversed(entries):
        sync = entry.facts.get("sync")
        if entry.result != "succeeded" or not isinstance(sync, dict):
            continue
        if {sync.get("from"), sync.get("to")} != {server, peer} or entry.server != server:
            continue
        state = ServerState.from_json(sync.get("state"))
        if state is not None:
            return LastSync(entry.time, str(sync["from"]), str(sync["to"]), state)
    return None


def clock(when: float, now: float | None = None) -> str:
    """``14:02`` today, ``2025-02-05 14:02`` on another day (the desktop's time zone)."""
    local = time.localtime(when)
    today = time.localtime(now if now is not None else time.time())
    if local[:3] == today[:3]:
        return time.strftime("%H:%M", local)
    return time.strftime("%Y-%m-%d %H:%M", local)


@dataclass(frozen=True)
class TargetChanges:
    """What the target holds that a sync from the source would overwrite."""

    source: str
    target: str
    since: float | None  # the last sync between them (None: no record of one)
    rows: int = 0
    tables: tuple[str, ...] = ()
    files: int = 0
    folders: tuple[str, ...] = ()

    @property
    def what(self) -> str:
        """``12 rows in 3 tables and 1 file``."""
        parts = []
        if self.rows:
            parts.append(f"{plural(self.rows, 'row')} in {plural(len(self.tables), 'table')}")
        if self.files:
            parts.append(plural(self.files, "file"))
        return " and ".join(parts)

    def __bool__(self) -> bool:
        return bool(self.rows or self.files)

    def __str__(self) -> str:
        discard = f"syncing from {self.source} would discard them"
        if self.since is None:
            return (
                f"{self.target} is the active server and has {self.what} that"
                f" {'differs' if self.rows + self.files == 1 else 'differ'} from"
                f" {self.source}, with no record of an earlier sync between them; {discard}"
            )
        return f"{self.target} has {self.what} changed since {clock(self.since)}; {discard}"


class NewerChanges(PmcError):
    """A sync would overwrite changes made on its target since the last sync; nothing was
    changed. :attr:`changes` says what they are."""

    def __init__(self, changes: TargetChanges, *, hint: str | None = None) -> None:
        self.changes = changes
        super().__init__(
            str(changes),
            hint=hint
            or f"Synchronize from {changes.target} first, or discard them explicitly; nothing"
            " was changed",
        )

    def in_commands(self, cluster: str) -> NewerChanges:
        """The same refusal, its hint naming the ``pmc sync run`` commands of each way on."""
        target = self.changes.target
        return NewerChanges(
            self.changes,
            hint=f"Nothing was changed. Synchronize from {target} first (pmc sync run"
            f" --cluster {cluster} --from {target}), or discard them: add"
            " --discard-target-changes",
        )


@dataclass(frozen=True)
class Look:
    """Both servers' states before a sync, and what the target holds since the last one."""

    schema: Schema
    source: ServerState
    target: ServerState
    last: LastSync | None
    changes: TargetChanges


async def _state(pg: PgConn, schema: Schema, server: Server, folders: list[str],
                 conn: Connection) -> ServerState:  # fmt: skip
    def tables() -> dict[str, tuple[int, str]]:
        try:
            return table_rows.digests(pg, schema, server=conn.label)
        finally:
            pg.rollback()

    digests, listings = await asyncio.gather(
        asyncio.to_thread(tables), asyncio.gather(*(datafiles.listing(conn, f) for f in folders))
    )
    found = {f: folder_digest(listing) for f, listing in zip(folders, listings, strict=True)}
    return ServerState(digests, found)


async def look(
    cluster: Cluster, conns: Connections, source: Server, target: Server,
    *, include_ts_outputs: bool = False,
) -> Look:  # fmt: skip
    """Read both states and the target's last sync with the source; count what the target
    holds since then (see the module docs). Read only."""
    folders = list(source.layout.data_dirs.values())
    entries = await audit_log.read(conns[target.name])
    last = last_sync(entries, target.name, source.name)
    async with delta_engine.databases(source, target, conns) as (pg_s, pg_t):
        schema = await asyncio.to_thread(
            table_rows.read_schema, pg_s, include_ts_outputs=include_ts_outputs
        )
        before_s, before_t = await asyncio.gather(
            _state(pg_s, schema, source, folders, conns[source.name]),
            _state(pg_t, schema, target, folders, conns[target.name]),
        )
        if last is not None:
            tables = [n for n, d in before_t.tables.items() if last.state.tables.get(n, d) != d]
            changed_folders = [
                f for f, d in before_t.folders.items() if last.state.folders.get(f, d) != d
            ]
        elif target.name == (cluster.active_server.name if cluster.active_server else None):
            tables = [n for n, d in before_t.tables.items() if before_s.tables.get(n) != d]
            changed_folders = [
                f for f, d in before_t.folders.items() if before_s.folders.get(f) != d
            ]
        else:
            tables, changed_folders = [], []
        rows: dict[str, int] = {}
        if tables:
            only = Schema(tuple(t for t in schema.tables if t.name in tables))
            comparison = await asyncio.to_thread(
                table_rows.compare, pg_s, pg_t, only, names=(source.name, target.name)
            )
            await asyncio.gather(asyncio.to_thread(pg_s.rollback), asyncio.to_thread(pg_t.rollback))
            rows = {t.table: t.changes for t in comparison.delta.changed}
    files: dict[str, int] = {}
    for folder in changed_folders:
        delta = await datafiles.compare_folder(conns[source.name], conns[target.name], folder)
        if delta.changes:
            files[folder] = delta.changes
    changes = TargetChanges(
        source.name,
        target.name,
        last.time if last is not None else None,
        sum(rows.values()),
        tuple(sorted(rows)),
        sum(files.values()),
        tuple(sorted(files)),
    )
    return Look(schema, before_s, before_t, last, changes)


async def read_state(server: Server, conns: Connections, schema: Schema,
                     folders: list[str]) -> ServerState:  # fmt: skip
    async with delta_engine.one_database(server, conns) as pg:
        return await _state(pg, schema, server, folders, conns[server.name])


def _changed(before: Digests, after: Digests, name: str, count: str) -> list[dict[str, Any]]:
    return [
        {name: key, f"{count}_before": before.get(key, (0, ""))[0], f"{count}_after": value[0],
         "before": before.get(key, (0, None))[1], "after": value[1]}
        for key, value in sorted(after.items())
        if before.get(key) != value
    ]  # fmt: skip


async def guarded(
    cluster: Cluster, conns: Connections, source: Server, target: Server, *, ctx: JobContext,
    sync: Callable[[], Awaitable[T]], engine_name: str, include_ts_outputs: bool = False,
    discard: bool = False,
) -> T:  # fmt: skip
    """Run ``sync`` unless the target holds newer changes (:class:`NewerChanges`), or the
    operator chose to ``discard`` them; then note both servers' states for their audit logs
    (the next sync's record)."""
    with ctx.step(f"look for changes made on {target.name} since the last sync"):
        before = await look(cluster, conns, source, target, include_ts_outputs=include_ts_outputs)
    changes = before.changes
    if before.last is None:
        ctx.log(
            f"{target.name} has no record of an earlier sync with {source.name}",
            server=target.name,
        )
    if changes and not discard:
        raise NewerChanges(changes)
    if changes:
        ctx.log(
            f"discarding {changes.what} on {target.name} (the operator's choice)",
            level="warning",
            server=target.name,
        )
    result = await sync()
    with ctx.step(f"record the state of {target.name} after the sync"):
        await record(conns, source, target, before, engine_name=engine_name, summary=str(result))
    return result


async def record(
    conns: Connections, source: Server, target: Server, before: Look, *, engine_name: str,
    summary: str,
) -> None:  # fmt: skip
    """After a sync from ``source`` to ``target`` that :func:`look` saw ``before``: note both
    servers' states for their audit logs (the next sync's record), and on the target what
    the sync changed there (tables, data folders, what was discarded)."""
    folders = list(source.layout.data_dirs.values())
    after = await read_state(target, conns, before.schema, folders)
    done = {"from": source.name, "to": target.name, "engine": engine_name}
    audit_trail.note(target.name, "sync", {**done, "state": after.as_json()})
    audit_trail.note(target.name, "tables", _changed(before.target.tables, after.tables,
                                                     "table", "rows"))  # fmt: skip
    audit_trail.note(target.name, "data", _changed(before.target.folders, after.folders,
                                                   "folder", "files"))  # fmt: skip
    if before.changes:
        audit_trail.note(target.name, "discarded", str(before.changes))
    audit_trail.note(source.name, "sync", {**done, "state": before.source.as_json()})
    audit_trail.summarize(target.name, summary)
    audit_trail.summarize(source.name, f"source of the sync of {target.name}: {summary}")
