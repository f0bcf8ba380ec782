"""PMC's local state: one SQLite file with the job history and the audit log.

The schema is created and migrated by PMC itself: :data:`MIGRATIONS` is an ordered list of
SQL scripts, one per schema version; ``PRAGMA user_version`` records how far a file has come.
Every text stored here has passed through :func:`pmc.redact.redact`.
"""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pmc.errors import PmcError
from pmc.paths import ensure_dir, private_dir, state_db_path
from pmc.redact import redact

MIGRATIONS: list[str] = [
    # 1: job history and audit log
    """
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        cluster TEXT,
        state TEXT NOT NULL,
        started REAL NOT NULL,
        finished REAL,
        summary TEXT NOT NULL DEFAULT '',
        os_user TEXT NOT NULL
    );
    CREATE INDEX jobs_started ON jobs (started);
    CREATE TABLE job_log (
        job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        time REAL NOT NULL,
        kind TEXT NOT NULL,
        level TEXT NOT NULL,
        server TEXT,
        message TEXT NOT NULL,
        PRIMARY KEY (job_id, seq)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time REAL NOT NULL,
        os_user TEXT NOT NULL,
        job_id TEXT,
        cluster TEXT,
        server TEXT,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_time ON audit (time);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


BUSY_SECONDS = 30.0  # how long a PMC waits for another one to finish with the file


class StoreError(PmcError):
    """The local history file cannot be opened or is from a newer PMC."""


class DamagedStore(StoreError):
    """SQLite found the history file damaged; it is kept as it is."""


@dataclass(frozen=True)
class JobRecord:
    id: str
    kind: str
    title: str
    cluster: str | None
    state: str
    started: float
    finished: float | None
    summary: str
    os_user: str

    @property
    def duration(self) -> float | None:
        return None if self.finished is None else self.finished - self.started


@dataclass(frozen=True)
class AuditRecord:
    id: int
    time: float
    os_user: str
    job_id: str | None
    cluster: str | None
    server: str | None
    action: str
    target: str
    detail: str


@dataclass(frozen=True)
class LogRecord:
    seq: int
    time: float
    kind: str
    level: str
    server: str | None
    message: str


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without passwd entry)
        return "unknown"


class Store:
    """Thread-safe access to the SQLite file; open with :meth:`open`."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        self._db = connection
        self._lock = threading.Lock()
        self.path = path

    @classmethod
    def open(cls, path: Path | None = None) -> Store:
        """Open (creating and migrating) the history file; ``None`` means the default place.

        Several PMCs may start at once (the GUI, ``pmc sync daemon``, a ``pmc`` in a terminal):
        creation and migration run in one ``BEGIN IMMEDIATE`` transaction, which the others
        wait for (up to :data:`BUSY_SECONDS`) and then find done. A damaged file raises
        :class:`DamagedStore` and is left exactly as it is (:func:`set_aside` keeps it under
        another name, on the operator's word)."""
        if path is None:
            path = state_db_path()
            make_folder = private_dir
        else:
            make_folder = ensure_dir
        try:
            make_folder(path.parent)  # OSError: a file in its place, a read-only parent
            _private_file(path)
            db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=BUSY_SECONDS
            )
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"cannot open PMC's history file ({exc})",
                where=str(path),
                hint="Check that the folder exists and is writable",
            ) from exc
        try:
            _migrate(db, str(path))
            _check(db, str(path))
        except sqlite3.DatabaseError as exc:
            db.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(
                    f"PMC's history file stayed busy for {BUSY_SECONDS:g} s ({exc})",
                    where=str(path),
                    hint="Another PMC holds it; try again when it has finished",
                ) from exc
            if isinstance(exc, _Damage) or getattr(exc, "sqlite_errorcode", None) in _DAMAGE:
                raise damaged(path, str(exc)) from exc
            raise StoreError(  # e.g. a migration that failed: rolled back, nothing changed
                f"cannot open PMC's history file ({exc})",
                where=str(path),
                hint="It was left as it is; this PMC cannot use it. Report the message to PMC's "
                "maintainers",
            ) from exc
        except BaseException:
            db.close()
            raise
        return cls(db, path)

    @classmethod
    def in_memory(cls) -> Store:
        db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        _migrate(db, ":memory:")
        return cls(db, None)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write, all or nothing; SQLite's refusal (a full disk, a file another PMC kept
        busy too long) is a :class:`StoreError` naming the file."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:  # SQLite may have rolled back already
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise _not_written(exc, self.path) from exc

    # jobs -------------------------------------------------------------------------------
    def job_started(self, job_id: str, kind: str, title: str, cluster: str | None) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO jobs (id, kind, title, cluster, state, started, os_user)"
                " VALUES (?, ?, ?, ?, 'running', ?, ?)",
                (job_id, kind, redact(title), cluster, time.time(), os_user()),
            )

    def job_finished(self, job_id: str, state: str, summary: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET state = ?, finished = ?, summary = ? WHERE id = ?",
                (state, time.time(), redact(summary), job_id),
            )

    def job_log(
        self, job_id: str, rows: list[tuple[int, float, str, str, str | None, str]]
    ) -> None:
        """Append log rows ``(seq, time, kind, level, server, message)`` of a job."""
        clean = [(job_id, s, t, k, lvl, srv, redact(m)) for s, t, k, lvl, srv, m in rows]
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO job_log VALUES (?, ?, ?, ?, ?, ?, ?)",
                clean,
            )

    def jobs(self, *, limit: int = 200, kind: str | None = None) -> list[JobRecord]:
        rows = self._newest("jobs", "started", limit, ("kind", kind))
        return [JobRecord(*row) for row in rows]

    def _newest(
        self, table: str, order: str, limit: int, where: tuple[str, str | None]
    ) -> list[Any]:
        """Up to ``limit`` rows of ``table``, newest ``order`` first; ``where`` (column, value)
        keeps those rows only when the value is given. Table and column names are PMC's own."""
        query = f"SELECT * FROM {table}"
        params: list[Any] = []
        column, value = where
        if value:
            query += f" WHERE {column} = ?"
            params.append(value)
        query += f" ORDER BY {order} DESC LIMIT ?"
        params.append(limit)
        with self._lock:
            return self._db.execute(query, params).fetchall()

    def job_log_of(self, job_id: str) -> list[LogRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, time, kind, level, server, message FROM job_log"
                " WHERE job_id = ? ORDER BY seq",
                (job_id,),
            ).fetchall()
        return [LogRecord(*row) for row in rows]

    # audit ------------------------------------------------------------------------------
    def audit(
        self,
        action: str,
        *,
        target: str = "",
        detail: str | dict[str, Any] = "",
        job_id: str | None = None,
        cluster: str | None = None,
        server: str | None = None,
    ) -> None:
        """Record a change made to a server (or to PMC's own inventory)."""
        text = detail if isinstance(detail, str) else json.dumps(detail, sort_keys=True)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO audit (time, os_user, job_id, cluster, server, action, target,"
                " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), os_user(), job_id, cluster, server, action, target, redact(text)),
            )

    def audit_log(self, *, limit: int = 500, job_id: str | None = None) -> list[AuditRecord]:
        rows = self._newest("audit", "id", limit, ("job_id", job_id))
        return [AuditRecord(*row) for row in rows]


def _statements(script: str) -> list[str]:
    """The SQL statements of a migration script (no ``;`` inside its strings)."""
    return [part.strip() for part in script.split(";") if part.strip()]


def _private_file(path: Path) -> None:
    """The history file (and so its -wal and -shm files, which SQLite creates with the same
    mode) readable by the operator only, whatever the umask."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.chmod(path, 0o600)
    finally:
        os.close(fd)


def _migrate(db: sqlite3.Connection, where: str) -> None:
    db.execute("PRAGMA foreign_keys = ON")
    if where != ":memory:":
        _write_ahead_log(db)
    db.execute("BEGIN IMMEDIATE")  # one PMC at a time from here to COMMIT
    try:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the history file is from a newer PMC (schema {version}, this PMC knows"
                f" {SCHEMA_VERSION})",
                where=where,
                hint="Use the newer PMC, or move the file aside.",
            )
        for number in range(version, SCHEMA_VERSION):
            for statement in _statements(MIGRATIONS[number]):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number + 1}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _write_ahead_log(db: sqlite3.Connection) -> None:
    """Switch the file to WAL. Two PMCs opening the same NEW file at the same moment: SQLite
    answers "database is locked" at once to one of them here (its busy timeout does not cover
    this switch); that PMC waits for the other like for any busy file."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class _Damage(sqlite3.DatabaseError):
    """SQLite's quick check found damage."""


# SQLite's own words for a damaged file: "database disk image is malformed", "file is not a
# database"
_DAMAGE = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _check(db: sqlite3.Connection, where: str) -> None:
    """SQLite's own quick check of every page: a damaged page is found now, before a job
    starts, not in the middle of one."""
    found = [row[0] for row in db.execute("PRAGMA quick_check(3)").fetchall()]
    if found != ["ok"]:
        lines = "\n".join(str(f) for f in found).replace("*** in database main ***", "")
        raise _Damage("; ".join(x.strip() for x in lines.splitlines() if x.strip()))


def _not_written(exc: sqlite3.Error, path: Path | None) -> StoreError:
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL:
        hint = "Free some disk space; the history goes on once there is room"
    elif code in _DAMAGE:
        hint = "To keep it under another name and start a new history, run: pmc history set-aside"
    else:
        hint = "If another PMC is busy with it, try again when it has finished"
    return StoreError(
        f"cannot write to PMC's history file ({exc}); nothing was written to it",
        where=str(path or ":memory:"),
        hint=hint,
    )


def damaged(path: Path, detail: str) -> StoreError:
    return DamagedStore(
        f"PMC's history file is damaged ({detail}); it was left as it is",
        where=str(path),
        hint="To keep it under another name and start a new history, run: pmc history set-aside",
    )


def set_aside(path: Path | None = None) -> Path:
    """Rename the history file (with its -wal and -shm files) to ``NAME.damaged-TIME`` beside
    it, so that the next start makes a new one; the new name. Nothing is deleted."""
    path = path or state_db_path()
    if not path.exists():
        raise StoreError("there is no history file to set aside", where=str(path))
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.rename(target.with_name(target.name + suffix))
    return target
