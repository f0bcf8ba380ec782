from __future__ import annotations

import asyncio
import gc
import sqlite3
from pathlib import Path

import pytest

from pmc import redact
from pmc import store as store_module
from pmc.errors import Cancelled, RemoteError
from pmc.jobs import EventKind, Job, JobContext, JobEvent, JobState
from pmc.store import SCHEMA_VERSION, Store, StoreError


def _kinds(events: list[JobEvent]) -> list[EventKind]:
    return [e.kind for e in events]


def test_successful_job_reports_steps_progress_and_history() -> None:
    store = Store.in_memory()

    async def body(ctx: JobContext) -> str:
        with ctx.step("edit spoolers.json", server="main"):
            ctx.progress(1, 2, unit="steps")
            ctx.log("wrote 2 servers", server="main")
        ctx.checkpoint()
        return "2 steps applied"

    job: Job[str] = Job("setup", "Set up redundancy", body, cluster="lab", store=store)
    seen: list[JobEvent] = []
    job.subscribe(seen.append)
    assert asyncio.run(job.run()) == "2 steps applied"
    assert job.state is JobState.SUCCEEDED
    assert _kinds(seen) == [
        EventKind.STARTED,
        EventKind.STEP_STARTED,
        EventKind.PROGRESS,
        EventKind.LOG,
        EventKind.STEP_FINISHED,
        EventKind.FINISHED,
    ]
    assert seen[2].fraction == 0.5
    (record,) = store.jobs()
    assert (record.state, record.cluster, record.summary) == ("succeeded", "lab", "2 steps applied")
    assert record.duration is not None and record.duration >= 0
    logged = [r.message for r in store.job_log_of(job.id)]
    assert "wrote 2 servers" in logged
    assert all(r.kind != "progress" for r in store.job_log_of(job.id))


def test_work_beside_other_work_logs_and_cancels_but_shows_no_progress() -> None:
    """An import's backup runs beside its staging: one progress bar, the staging's."""
    reached: list[int] = []

    async def body(ctx: JobContext) -> None:
        beside = ctx.without_progress()
        with beside.step("Back up the target", server="backup"):
            beside.progress(1, 2, unit="B", message="Exporting: 1 of 2")
            beside.log("backup written")
        ctx.progress(1, 4, unit="B", message="Importing: 1 of 4")
        for i in range(100):
            await beside.acheckpoint()
            reached.append(i)
            if i == 2:
                job.cancel()

    job: Job[None] = Job("import", "Import", body, store=Store.in_memory())
    seen: list[JobEvent] = []
    job.subscribe(seen.append)
    with pytest.raises(Cancelled):
        asyncio.run(job.run())
    assert [e.message for e in seen if e.kind is EventKind.PROGRESS] == ["Importing: 1 of 4"]
    assert _kinds(seen)[1:4] == [EventKind.STEP_STARTED, EventKind.LOG, EventKind.STEP_FINISHED]
    assert reached == [0, 1, 2]  # the operator's cancel reaches the work beside too


def test_cancel_stops_at_the_next_checkpoint() -> None:
    reached: list[int] = []

    async def body(ctx: JobContext) -> None:
        for i in range(100):
            await ctx.acheckpoint()
            reached.append(i)
            if i == 3:
                job.cancel()

    job: Job[None] = Job("sync", "Synchronize", body, store=Store.in_memory())
    with pytest.raises(Cancelled):
        asyncio.run(job.run())
    assert reached == [0, 1, 2, 3]
    assert job.state is JobState.CANCELLED
    assert job.events[-1].kind is EventKind.CANCELLED


def test_cancel_keeps_the_bodys_account_of_what_was_undone() -> None:
    async def body(ctx: JobContext) -> None:
        raise Cancelled("cancelled after step 2", hint="Rolled back: spoolers.json on main")

    job: Job[None] = Job("setup", "Apply", body, store=Store.in_memory())
    with pytest.raises(Cancelled) as caught:
        asyncio.run(job.run())
    assert str(caught.value) == "cancelled after step 2. Rolled back: spoolers.json on main"
    assert job.events[-1].message == str(caught.value)


def test_task_cancellation_becomes_an_operator_cancel() -> None:
    started = asyncio.Event()

    async def body(ctx: JobContext) -> None:
        started.set()
        await asyncio.Event().wait()  # works until its task is cancelled

    async def main() -> None:
        job: Job[None] = Job("sync", "Synchronize", body)
        task = job.start()
        await started.wait()
        task.cancel()
        with pytest.raises(Cancelled):
            await task
        assert job.state is JobState.CANCELLED

    asyncio.run(main())


def test_failed_step_is_reported_with_the_operator_message() -> None:
    async def body(ctx: JobContext) -> None:
        with ctx.step("restart playout-api.service", server="backup"):
            raise RemoteError("playout-api.service did not start", server="backup")

    job: Job[None] = Job("setup", "Apply", body)
    with pytest.raises(RemoteError):
        asyncio.run(job.run())
    failed = [e for e in job.events if e.kind is EventKind.STEP_FAILED]
    assert failed[0].message == (
        "restart playout-api.service: backup: playout-api.service did not start"
    )
    assert job.state is JobState.FAILED


def test_secrets_are_redacted_from_events_and_history() -> None:
    secret = "Sw0rdfish-lab-7731"
    redact.register(secret)
    store = Store.in_memory()

    async def body(ctx: JobContext) -> None:
        ctx.log(f"sshpass -p {secret} failed")

    job: Job[None] = Job("setup", "Apply", body, store=store)
    asyncio.run(job.run())
    assert all(secret not in e.message for e in job.events)
    assert any(r.message == "sshpass -p *** failed" for r in store.job_log_of(job.id))


def test_a_broken_listener_does_not_break_the_job() -> None:
    async def body(ctx: JobContext) -> int:
        ctx.log("hello")
        return 1

    job: Job[int] = Job("x", "x", body)

    def broken(event: JobEvent) -> None:
        raise ValueError("listener bug")

    job.subscribe(broken)
    assert asyncio.run(job.run()) == 1


# The history file's schema 1 exactly as pmc/store.py created it when it was written (commit
# 3da10cd, the first PMC with a history). Frozen here on purpose: a schema change is a new
# migration, never an edit of this one, and files written by that PMC must keep opening.
SCHEMA_1 = """
CREATE TABLE jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL, cluster TEXT,
    state TEXT NOT NULL, started REAL NOT NULL, finished REAL,
    summary TEXT NOT NULL DEFAULT '', os_user TEXT NOT NULL
);
CREATE INDEX jobs_started ON jobs (started);
CREATE TABLE job_log (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    time REAL NOT NULL, kind TEXT NOT NULL, level TEXT NOT NULL, server TEXT,
    message TEXT NOT NULL, PRIMARY KEY (job_id, seq)
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, os_user TEXT NOT NULL,
    job_id TEXT, cluster TEXT, server TEXT, action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_time ON audit (time);
"""


def _history_of_schema_1(path: Path) -> None:
    """A history file as that first PMC left it: one finished job with its log, one audit entry."""
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_1)
    db.execute(
        "INSERT INTO jobs VALUES ('a1b2c3', 'setup', 'Set up studio', 'studio', 'succeeded', "
        "100.0, 160.5, '3 steps applied', 'operator')"
    )
    db.execute(
        "INSERT INTO job_log VALUES ('a1b2c3', 0, 101.0, 'log', 'info', 'main', "
        "'backup of spoolers.json taken')"
    )
    db.execute(
        "INSERT INTO audit (time, os_user, job_id, cluster, server, action, target) VALUES "
        "(120.0, 'operator', 'a1b2c3', 'studio', 'main', 'edit file', "
        "'/opt/playout/api/config/spoolers.json')"
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()


def _schema(path: Path) -> list[tuple[str, str, str]]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        return [(kind, name, " ".join(sql.split())) for kind, name, sql in rows]
    finally:
        db.close()


def _user_version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def test_a_history_file_of_the_first_schema_opens_with_its_data(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"
    _history_of_schema_1(old)
    store = Store.open(old)
    (job,) = store.jobs()
    assert (job.id, job.title, job.state, job.summary, job.duration) == (
        "a1b2c3",
        "Set up studio",
        "succeeded",
        "3 steps applied",
        60.5,
    )
    assert [r.message for r in store.job_log_of("a1b2c3")] == ["backup of spoolers.json taken"]
    (entry,) = store.audit_log()
    assert (entry.action, entry.server, entry.job_id) == ("edit file", "main", "a1b2c3")
    store.audit("restart", target="playout-api.service", server="backup")  # still writable
    store.close()
    assert _user_version(old) == SCHEMA_VERSION
    # after its migrations the old file has exactly the tables of a new one
    new = tmp_path / "new.sqlite3"
    Store.open(new).close()
    assert _schema(old) == _schema(new)


def test_migrations_run_in_order_once_and_keep_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later schema (here a stand-in migration 2 that derives a table from the jobs) is
    applied to a file of schema 1 once, on its data; a file already there is left alone."""
    path = tmp_path / "state.sqlite3"
    _history_of_schema_1(path)
    second = (
        "CREATE TABLE job_titles (id TEXT PRIMARY KEY, title TEXT); "
        "INSERT INTO job_titles SELECT id, title FROM jobs"
    )
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, second])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 2)
    Store.open(path).close()
    assert _user_version(path) == 2
    Store.open(path).close()  # at version 2 already: migration 2 does not run again
    db = sqlite3.connect(path)
    assert db.execute("SELECT * FROM job_titles").fetchall() == [("a1b2c3", "Set up studio")]
    assert db.execute("SELECT count(*) FROM audit").fetchone() == (1,)
    db.close()


def test_a_failed_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.sqlite3"
    _history_of_schema_1(path)
    before = _schema(path)
    broken = "CREATE TABLE job_titles (id TEXT); INSERT INTO job_titles SELECT nothing FROM jobs"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, broken])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 2)
    with pytest.raises(StoreError, match="cannot open PMC's history file") as caught:
        Store.open(path)
    assert caught.value.where == str(path)
    assert _user_version(path) == 1 and _schema(path) == before
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 1)
    store = Store.open(path)  # the file is as it was: the PMC of schema 1 still opens it
    assert [j.id for j in store.jobs()] == ["a1b2c3"]
    store.close()


def test_store_refuses_newer_files(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    Store.open(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer PMC"):
        Store.open(path)


def test_masked_argument_displays_as_stars() -> None:
    value = redact.Masked("hunter2-secret")
    assert repr(value) == "'***'"
    assert redact.redact("password hunter2-secret") == "password ***"


@pytest.mark.parametrize("outcome", ["succeeded", "failed", "cancelled"])
def test_the_history_holds_the_outcome_when_the_job_shows_it(outcome: str) -> None:
    """Whoever sees a job end (the jobs panel, the CLI) finds that outcome in the history."""
    store = Store.in_memory()

    async def body(ctx: JobContext) -> str:
        if outcome == "failed":
            raise RemoteError("the server went away", server="main")
        if outcome == "cancelled":
            job.cancel()
            await ctx.acheckpoint()
        return "done"

    job: Job[str] = Job("sync", "Synchronize", body, store=store)
    seen_in_history: list[tuple[str, str]] = []

    def on_event(event: JobEvent) -> None:
        if event.kind in (EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED):
            seen_in_history.append((job.state.value, store.jobs()[0].state))

    job.subscribe(on_event)
    try:
        asyncio.run(job.run())
    except (RemoteError, Cancelled, asyncio.CancelledError):
        assert outcome != "succeeded"
    assert seen_in_history == [(outcome, outcome)]


@pytest.mark.parametrize("outcome", ["failed", "cancelled"])
def test_a_job_followed_to_its_end_leaves_no_error_for_asyncio_to_log(outcome: str) -> None:
    """The command line starts a job and follows it with outcome(), which raises its error:
    asyncio must not log that error again as "Task exception was never retrieved" (a
    traceback on the operator's terminal after the command's own message)."""
    reported: list[str] = []

    async def body(ctx: JobContext) -> str:
        if outcome == "failed":
            raise RemoteError("the server went away", server="main")
        ctx.cancel_requested.set()
        await ctx.acheckpoint()
        return "done"

    async def follow() -> None:
        asyncio.get_running_loop().set_exception_handler(
            lambda loop, context: reported.append(str(context.get("message")))
        )
        job: Job[str] = Job("sync", "Synchronize", body)
        job.start()
        with pytest.raises((RemoteError, Cancelled)):
            await job.outcome()
        del job
        gc.collect()  # the task goes now: asyncio logs an unretrieved error when it does

    asyncio.run(follow())
    gc.collect()
    assert reported == []


def test_a_history_that_cannot_be_written_fails_the_start_and_never_hides_the_outcome(
    tmp_path: Path,
) -> None:
    """A full disk (SQLite may not grow the file) or a read-only history: before, the raw
    sqlite3.OperationalError escaped from Job.run, at the end after the work was done too, so
    a sync that had succeeded ended in a traceback."""
    store = Store.open(tmp_path / "state.db")

    async def body(ctx: JobContext) -> str:
        (pages,) = store._db.execute("PRAGMA page_count").fetchone()
        store._db.execute(f"PRAGMA max_page_count = {pages}")  # full from now on
        ctx.log("x" * 20000)
        return "synchronized"

    job: Job[str] = Job("sync", "Sync main to backup", body, store=store)
    seen: list[JobEvent] = []
    job.subscribe(seen.append)
    assert asyncio.run(job.run()) == "synchronized"
    assert job.state is JobState.SUCCEEDED and seen[-1].kind is EventKind.FINISHED
    assert seen[-2].level == "warning" and seen[-2].message.startswith(
        "the outcome of this job could not be written to PMC's history: "
    )
    assert "database or disk is full" in seen[-2].message
    assert [(r.id, r.state) for r in store.jobs()] == [(job.id, "succeeded")]  # not "running"

    store._db.execute("PRAGMA query_only = ON")  # as a history file PMC may not write
    refused: Job[str] = Job("sync", "Sync again", body, store=store)
    with pytest.raises(StoreError, match="cannot write to PMC's history file"):
        asyncio.run(refused.run())
    assert refused.state is JobState.FAILED and refused.events[-1].kind is EventKind.FAILED
    store.close()
