from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pmc import redact
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


def test_store_migrates_and_refuses_newer_files(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = Store.open(path)
    store.audit("edit file", target="/opt/playout/api/config/spoolers.json", server="main")
    store.close()
    again = Store.open(path)
    (entry,) = again.audit_log()
    assert entry.action == "edit file" and entry.server == "main"
    again.close()
    import sqlite3

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
