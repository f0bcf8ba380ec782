"""The audit log ON each server: the history of every change PMC made there, whichever
desktop made it, so that a colleague's PMC can read it (``pmc history``, Cluster ▸ History).

``/var/log/pmc/audit.jsonl`` (the layout's ``audit_log``) holds one JSON object per line. A
job that changes a server runs inside the cluster lock (:mod:`pmc.cluster_lock`); when that
block ends, :func:`recorded` appends one line to each server the block held, while it still
holds them: the change is on the server, so is its record. A line is appended atomically: one
``write`` of the whole line on a file opened with ``O_APPEND`` (``dd … oflag=append``), then
``fsync``, so that two PMCs writing at once never mix their lines.

A line holds: ``v`` (1), ``time`` (ISO 8601, UTC) and ``epoch``, ``cluster``, ``server``, the
operator's OS ``user`` and ``desktop`` (host name), the ``pmc`` version, the ``job`` (``id``,
``kind``, ``title``: the same id as the desktop's own history), the ``action`` (what the lock
was taken for), the ``result`` (``succeeded``, ``failed``, ``cancelled``) and its ``message``,
the ``files`` changed with the SHA-256 of their bytes ``before`` and ``after`` (null: absent),
and what the job noted (:mod:`pmc.audit_trail`: the tables and data folders of a sync with
their digests, the sync's ``state``, the inventory's active server after a switchover). Never
a secret: every text passes through :func:`pmc.redact.redact`, and files are named only by
their paths and hashes.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pmc import audit_trail
from pmc.audit_trail import FileChange, Trail
from pmc.errors import Cancelled, PmcError
from pmc.jobs import Job, current_job
from pmc.redact import redact
from pmc.remote import commands
from pmc.remote.connection import Connection

FORMAT = 1
WRITE_SECONDS = 30.0  # at most, per server, to append a line at the end of a job
READ_LINES = 5000  # the newest lines read from a server's log
LATEST_EPOCH = 253402300800  # 10000-01-01: a later time is not a date (datetime refuses it)

Log = Callable[[str], None]

# Appends its input (exactly $2 bytes) to $1 in one write: dd's one block, O_APPEND.
_APPEND_SCRIPT = r"""
f=$1; n=$2
umask 027
mkdir -p -- "$(dirname -- "$f")" || exit 4
exec dd of="$f" oflag=append conv=notrunc,fsync bs="$n" count=1 iflag=fullblock status=none
"""

_READ_SCRIPT = r"""
[ -f "$1" ] || exit 0
exec tail -n "$2" -- "$1"
"""


class Who(Protocol):
    """Who makes the change (:class:`pmc.cluster_lock.Holder`)."""

    @property
    def user(self) -> str: ...
    @property
    def desktop(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def job(self) -> str: ...


@dataclass(frozen=True)
class AuditEntry:
    """One line of a server's audit log."""

    time: float
    cluster: str
    server: str
    user: str
    desktop: str
    version: str
    job_id: str
    job_kind: str
    job_title: str
    action: str
    result: str
    message: str = ""
    files: tuple[FileChange, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "v": FORMAT,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.time)),
            "epoch": round(self.time, 3),
            "cluster": self.cluster,
            "server": self.server,
            "user": self.user,
            "desktop": self.desktop,
            "pmc": self.version,
            "job": {"id": self.job_id, "kind": self.job_kind, "title": self.job_title},
            "action": self.action,
            "result": self.result,
            "message": self.message,
            "files": [f.as_json() for f in self.files],
        }
        data.update({k: v for k, v in self.facts.items() if k not in data})
        return data

    def line(self) -> bytes:
        """The entry as one line of the log (ASCII JSON, secrets masked): every text is
        redacted before it is encoded (JSON's escapes would hide a secret holding a quote or
        a non-ASCII letter from a pass over the line), and the line once more."""
        data = _redacted(self.as_json())
        text = redact(json.dumps(data, ensure_ascii=True, separators=(",", ":")))
        return (text + "\n").encode("ascii")

    @classmethod
    def parse(cls, line: str) -> AuditEntry | None:
        """The entry of one line; None for a line that is not one (skipped by readers)."""
        try:
            data = json.loads(line)
            job = data["job"]
            epoch = data["epoch"]
            if isinstance(epoch, bool) or not isinstance(epoch, int | float):
                return None
            if not math.isfinite(epoch) or not 0 <= epoch < LATEST_EPOCH:
                return None
            files = tuple(
                FileChange(str(f["path"]), f.get("before"), f.get("after"))
                for f in data.get("files", [])
            )
            known = {"v", "time", "epoch", "cluster", "server", "user", "desktop", "pmc",
                     "job", "action", "result", "message", "files"}  # fmt: skip
            return cls(
                time=float(epoch),
                cluster=str(data["cluster"]),
                server=str(data["server"]),
                user=str(data["user"]),
                desktop=str(data["desktop"]),
                version=str(data.get("pmc", "")),
                job_id=str(job["id"]),
                job_kind=str(job.get("kind", "")),
                job_title=str(job.get("title", "")),
                action=str(data.get("action", "")),
                result=str(data["result"]),
                message=str(data.get("message", "")),
                files=files,
                facts={k: v for k, v in data.items() if k not in known},
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None  # RecursionError: JSON nested deeper than Python's stack


def _redacted(data: Any) -> Any:
    """``data`` (JSON-ready) with every text, keys too, passed through :func:`redact`."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact(str(k)): _redacted(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_redacted(v) for v in data]
    return data


def entry_for(
    connection: Connection, who: Who, job: Job[object], *, result: str, message: str,
    notes: audit_trail.ServerNotes,
) -> AuditEntry:  # fmt: skip
    return AuditEntry(
        time=time.time(),
        cluster=connection.cluster,
        server=connection.server.name,
        user=who.user,
        desktop=who.desktop,
        version=who.version,
        job_id=job.id,
        job_kind=job.kind,
        job_title=job.title,
        action=who.job,
        result=result,
        message=message[:2000],
        files=tuple(notes.files),
        facts=dict(notes.facts),
    )


async def append(connection: Connection, entry: AuditEntry) -> None:
    """Append ``entry`` to the server's log in one atomic write."""
    data = entry.line()
    path = connection.server.layout.audit_log
    argv = ["sh", "-c", _APPEND_SCRIPT, "pmc-audit", path, str(len(data))]
    await commands.run(connection, argv, root=True, input=data, check=True, timeout=WRITE_SECONDS)


async def read(connection: Connection, *, limit: int = READ_LINES) -> list[AuditEntry]:
    """The newest ``limit`` entries of the server's log, oldest first (none: no log yet);
    lines that are not entries are skipped."""
    path = connection.server.layout.audit_log
    argv = ["sh", "-c", _READ_SCRIPT, "pmc-audit", path, str(limit)]
    result = await commands.run(connection, argv, root=True, check=True, timeout=60)
    found = (AuditEntry.parse(line) for line in result.stdout.splitlines() if line.strip())
    return [entry for entry in found if entry is not None]


def _outcome(exc: BaseException | None, notes: audit_trail.ServerNotes) -> tuple[str, str]:
    if exc is None:
        return "succeeded", notes.summary
    if isinstance(exc, Cancelled | asyncio.CancelledError):
        return "cancelled", str(exc) or "cancelled by the operator"
    return "failed", str(exc) if isinstance(exc, PmcError) else f"unexpected error: {exc!r}"


async def _write(
    connections: Sequence[Connection], who: Who, job: Job[object], trail: Trail, *,
    exc: BaseException | None, log: Log | None,
) -> None:  # fmt: skip
    async def one(connection: Connection) -> None:
        notes = trail.take(connection.server.name)
        result, message = _outcome(exc, notes)
        entry = entry_for(connection, who, job, result=result, message=message, notes=notes)
        try:
            async with asyncio.timeout(WRITE_SECONDS):
                await append(connection, entry)
        except (PmcError, OSError, TimeoutError) as error:
            if log is not None:
                log(
                    f"{connection.server.name}: this job could not be recorded in the server's"
                    f" audit log ({connection.server.layout.audit_log}): {error}"
                )

    await asyncio.gather(*(one(c) for c in connections))


# The servers the current job's outermost block records, with that job's id (blocks inside
# it add theirs: one entry per server and job, with everything the job changed there).
_RECORDING: contextvars.ContextVar[tuple[str, dict[int, Connection]] | None] = (
    contextvars.ContextVar("pmc_recording", default=None)
)


@contextlib.asynccontextmanager
async def recorded(
    connections: Sequence[Connection], who: Who, *, log: Log | None = None
) -> AsyncIterator[None]:
    """Inside a job: gather what the block changes (:func:`pmc.audit_trail.gathering`),
    then append one entry to the log of each server of ``connections``, with the block's
    result (also when it failed or was cancelled). A block inside another block of the same
    job adds its servers to the outer one, which writes the entries. Outside every job:
    nothing is recorded."""
    job = current_job()
    outer = _RECORDING.get()
    if job is None or not connections:
        yield
        return
    if outer is not None and outer[0] == job.id:
        outer[1].update({id(c): c for c in connections})
        yield
        return
    held = {id(c): c for c in connections}
    token = _RECORDING.set((job.id, held))
    try:
        with audit_trail.gathering() as trail:
            try:
                yield
            except BaseException as exc:
                await _write(list(held.values()), who, job, trail, exc=exc, log=log)
                raise
            await _write(list(held.values()), who, job, trail, exc=None, log=log)
    finally:
        _RECORDING.reset(token)
