"""The sync history as the operator reads it: one :class:`SyncHistoryEntry` per past sync.

Built from the job records of :mod:`pmc.store` (kind ``sync``): the engine and dry run come
from the job's title (``Synchronize NAME (ENGINE[, dry run])``, see
:meth:`pmc.sync.runner.SyncRunner.submit`), the number of retries from its log (the runner's
``try N of M failed …`` lines). :func:`table` renders the CLI's table, :meth:`as_json` the
``--json`` form for scripts.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from pmc.store import JobRecord, Store

JOB_KIND = "sync"
RETRY_LINE = re.compile(r"^try \d+ of \d+ failed")
_TITLE = re.compile(r"\((?P<engine>[\w-]+)(?P<dry>, dry run)?\)\s*$")


@dataclass(frozen=True)
class SyncHistoryEntry:
    id: str
    cluster: str
    engine: str  # delta | playout | "" (not from the runner)
    dry_run: bool
    state: str  # succeeded | failed | cancelled | running
    started: float  # seconds since the epoch
    duration: float | None  # None while running
    summary: str
    retries: int
    os_user: str

    @property
    def result(self) -> str:
        """``succeeded``, ``failed after 2 retries``, ``succeeded (dry run)``…"""
        text = self.state
        if self.retries:
            text += f" after {self.retries} retr{'y' if self.retries == 1 else 'ies'}"
        if self.dry_run:
            text += " (dry run)"
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started)),
            "started_epoch": self.started,
            "cluster": self.cluster,
            "engine": self.engine or None,
            "dry_run": self.dry_run,
            "state": self.state,
            "retries": self.retries,
            "duration_seconds": None if self.duration is None else round(self.duration, 3),
            "summary": self.summary,
            "os_user": self.os_user,
        }


def entry_of(record: JobRecord, store: Store | None = None) -> SyncHistoryEntry:
    match = _TITLE.search(record.title)
    retries = 0
    if store is not None:
        retries = sum(
            1
            for line in store.job_log_of(record.id)
            if line.kind == "log" and RETRY_LINE.match(line.message)
        )
    return SyncHistoryEntry(
        id=record.id,
        cluster=record.cluster or "",
        engine=match.group("engine") if match else "",
        dry_run=bool(match and match.group("dry")),
        state=record.state,
        started=record.started,
        duration=record.duration,
        summary=record.summary,
        retries=retries,
        os_user=record.os_user,
    )


def history(store: Store, *, limit: int = 20, cluster: str | None = None) -> list[SyncHistoryEntry]:
    """The latest syncs, newest first (of ``cluster`` only, if given)."""
    records = store.jobs(limit=limit if cluster is None else max(limit * 10, 200), kind=JOB_KIND)
    if cluster is not None:
        records = [r for r in records if r.cluster == cluster][:limit]
    return [entry_of(r, store) for r in records]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "running"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def table(entries: list[SyncHistoryEntry], *, width: int = 120) -> list[str]:
    """Lines of a table: TIME, CLUSTER, ENGINE, RESULT, DURATION, SUMMARY (cut to ``width``)."""
    header = ("TIME", "CLUSTER", "ENGINE", "RESULT", "DURATION", "SUMMARY")
    rows = [
        (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.started)),
            e.cluster or "-",
            e.engine or "-",
            e.result,
            _duration(e.duration),
            " ".join(e.summary.split()),
        )
        for e in entries
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    lines = []
    for row in (header, *rows):
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)]
        cells[4] = row[4].rjust(widths[4])  # durations line up on the right
        line = "  ".join([*cells, row[-1]])
        if len(line) > width:
            line = line[: width - 1] + "…"
        lines.append(line.rstrip())
    return lines
