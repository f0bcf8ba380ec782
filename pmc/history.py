"""A cluster's history: what PMC did to its servers, from this desktop and every other.

Two sources, merged by job (the id a job has in both): this desktop's own job history
(:mod:`pmc.store`: the jobs that change servers — setup apply, import, sync, switchover) and
the audit log on each server of the cluster (:mod:`pmc.audit_log`), which holds every job that
changed that server, whichever desktop ran it, with the operator's user and desktop. So an
operator sees what a colleague's PMC did last night. ``pmc history --cluster C`` prints
:func:`table`; Cluster ▸ History shows the same entries. Read only.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from pmc.audit_log import AuditEntry, read
from pmc.errors import PmcError
from pmc.store import JobRecord, os_user
from pmc.words import plural
from pmc.workspace import Workspace

CHANGING_KINDS = frozenset({"setup", "setup-apply", "import", "sync", "switchover"})
"""The kinds of this desktop's jobs listed even when no server recorded them (a job refused
before it reached a server, a server that was not reached). ``setup-apply`` is the kind an
older PMC's CLI recorded for a setup."""


@dataclass(frozen=True)
class HistoryEntry:
    job_id: str
    time: float
    kind: str
    title: str
    user: str
    desktop: str
    result: str  # succeeded, failed, cancelled, running
    message: str = ""
    servers: tuple[str, ...] = ()  # the servers whose audit logs record it
    changes: tuple[str, ...] = ()  # one line per change: files, tables, data, active server
    here: bool = False  # in this desktop's own history too

    @property
    def by(self) -> str:
        return f"{self.user}@{self.desktop}"

    def as_json(self) -> dict[str, Any]:
        return {
            "job": self.job_id,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.time)),
            "epoch": round(self.time, 3),
            "kind": self.kind,
            "title": self.title,
            "user": self.user,
            "desktop": self.desktop,
            "result": self.result,
            "message": self.message,
            "servers": list(self.servers),
            "changes": list(self.changes),
            "this_desktop": self.here,
        }


@dataclass(frozen=True)
class ClusterHistory:
    cluster: str
    entries: tuple[HistoryEntry, ...] = ()  # newest first
    unread: tuple[tuple[str, str], ...] = field(default=())  # (server, why) logs not read


def _short(digest: object) -> str:
    return str(digest)[:12] if digest else "absent"


def _listed(value: object) -> list[object]:
    """A fact that should be a list, as one (a server's log may hold anything)."""
    return value if isinstance(value, list) else []


def change_lines(entry: AuditEntry) -> list[str]:
    """What one server's entry says changed there, a line each."""
    where = entry.server
    out = [
        f"{where}: {f.path} {_short(f.before)} → {_short(f.after)}" for f in entry.files
    ]  # fmt: skip
    for table in _listed(entry.facts.get("tables")):
        if isinstance(table, dict):
            out.append(
                f"{where}: table {table.get('table')}: {table.get('rows_before')} →"
                f" {table.get('rows_after')} rows ({_short(table.get('before'))} →"
                f" {_short(table.get('after'))})"
            )
    for folder in _listed(entry.facts.get("data")):
        if isinstance(folder, dict):
            out.append(
                f"{where}: {folder.get('folder')}: {folder.get('files_before')} →"
                f" {folder.get('files_after')} files"
            )
    imported = entry.facts.get("imported")
    if isinstance(imported, dict):
        rows = imported.get("rows")
        counts = [n for n in rows.values() if isinstance(n, int)] if isinstance(rows, dict) else []
        parts = imported.get("parts")
        named = ", ".join(str(p) for p in parts) if isinstance(parts, list) else ""
        out.append(
            f"{where}: imported {imported.get('bundle')} ({named}):"
            f" {plural(sum(counts), 'row')} in {plural(len(counts), 'table')}"
        )
    active = entry.facts.get("active")
    if isinstance(active, dict):
        out.append(f"{where}: active server {active.get('before')} → {active.get('after')}")
    if entry.facts.get("discarded"):
        out.append(f"{where}: discarded on the operator's word: {entry.facts['discarded']}")
    return out


def _worst(results: list[str]) -> str:
    for result in ("failed", "cancelled", "running"):
        if result in results:
            return result
    return results[0] if results else "succeeded"


def merge(
    records: list[JobRecord], logs: dict[str, list[AuditEntry]], *, cluster: str,
    user: str, desktop: str,
) -> list[HistoryEntry]:  # fmt: skip
    """This desktop's job ``records`` and the servers' ``logs`` as one history, newest first:
    one entry per job (``user`` and ``desktop`` are this desktop's)."""
    by_job: dict[str, list[AuditEntry]] = {}
    for server in sorted(logs):
        for entry in logs[server]:
            if entry.cluster == cluster:
                by_job.setdefault(entry.job_id, []).append(entry)
    local = {r.id: r for r in records if r.cluster == cluster}
    out: list[HistoryEntry] = []
    for job_id in set(by_job) | {i for i, r in local.items() if r.kind in CHANGING_KINDS}:
        found = by_job.get(job_id, [])
        record = local.get(job_id)
        first = found[0] if found else None
        changes = [line for e in found for line in change_lines(e)]
        messages = [e.message for e in found if e.message]
        out.append(
            HistoryEntry(
                job_id=job_id,
                time=record.started if record else min(e.time for e in found),
                kind=record.kind if record else first.job_kind if first else "",
                title=record.title if record else first.job_title if first else "",
                user=first.user if first else record.os_user if record else user,
                desktop=first.desktop if first else desktop,
                result=record.state if record else _worst([e.result for e in found]),
                message=(record.summary if record else "") or (messages[0] if messages else ""),
                servers=tuple(e.server for e in found),
                changes=tuple(changes),
                here=record is not None,
            )
        )
    out.sort(key=lambda e: e.time, reverse=True)
    return out


async def cluster_history(workspace: Workspace, name: str, *, limit: int = 50) -> ClusterHistory:
    """The history of cluster ``name`` (see the module docs): this desktop's jobs and every
    server's log that can be read; the others are named in :attr:`ClusterHistory.unread`."""
    cluster = workspace.cluster(name)
    conns = workspace.connections(cluster)

    async def one(server: str) -> list[AuditEntry] | str:
        try:
            return await read(conns[server])
        except PmcError as exc:
            return str(exc)

    names = [s.name for s in cluster.servers]
    found = await asyncio.gather(*(one(n) for n in names))
    logs = {n: f for n, f in zip(names, found, strict=True) if isinstance(f, list)}
    unread = tuple((n, f) for n, f in zip(names, found, strict=True) if isinstance(f, str))
    store = workspace.store
    records = await asyncio.to_thread(store.jobs, limit=2000) if store is not None else []
    entries = merge(records, logs, cluster=name, user=os_user(), desktop=socket.gethostname())
    return ClusterHistory(name, tuple(entries[:limit]), unread)


def change_count(entry: HistoryEntry) -> str:
    return plural(len(entry.changes), "change") if entry.changes else "-"


def table(history: ClusterHistory, *, width: int = 160, details: bool = True) -> list[str]:
    """TIME, BY (user@desktop), JOB, RESULT, SERVERS, CHANGES; with ``details`` each
    entry's changes under it."""
    header = ("TIME", "BY", "JOB", "RESULT", "SERVERS", "CHANGES")
    rows = [
        (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.time)),
            e.by,
            e.title,
            e.result,
            ", ".join(e.servers) or "-",
            change_count(e),
        )
        for e in history.entries
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = []
    for row, entry in zip((header, *rows), (None, *history.entries), strict=True):
        line = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        lines.append(line if len(line) <= width else line[: width - 1] + "…")
        if entry is not None and details:
            if entry.result != "succeeded" and entry.message:
                lines.append(f"    {entry.message}"[:width])
            lines += [f"    {change}"[:width] for change in entry.changes]
    return lines
