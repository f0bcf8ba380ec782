"""Recovery against the shared redundant lab: a cancelled Playout-engine sync cleans up after
copy_config.sh (so the next sync needs no fix), and a connection dropped in the middle of a
delta sync is retried with back-off until it succeeds (the history shows the retries)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pmc.jobs import EventKind, Job, JobState
from pmc.store import Store
from pmc.sync import copy_config
from pmc.sync.history import history
from pmc.sync.runner import Engine, RetryPolicy, SyncRequest, SyncRunner, finished
from tests.sync.labkit import SyncLab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SLONS = "pgrep -a -x slon; exit 0"


class Confirmations:
    def __init__(self) -> None:
        self.seen: list[copy_config.Remediation] = []

    async def __call__(self, fix: copy_config.Remediation) -> bool:
        self.seen.append(fix)
        return True


def _logs(job: Job[object]) -> list[str]:
    return [e.message for e in job.events if e.kind is EventKind.LOG]


def test_cancelled_playout_sync_is_cleaned_up_and_the_next_needs_no_fix(
    sync_lab: SyncLab,
) -> None:
    lab = sync_lab
    store = Store.in_memory()
    confirm = Confirmations()
    seen: dict[str, Any] = {}

    async def go() -> tuple[Job[object], Job[object]]:
        pool = lab.pool()
        runner = SyncRunner(lambda _n: lab.cluster, pool, store=store, confirm=confirm)
        try:
            job = runner.submit(SyncRequest(lab.cluster.name, Engine.PLAYOUT))

            def press_cancel(event: Any) -> None:
                # Slony is copying and the slons run: the middle of a copy.
                if event.kind is EventKind.LOG and "REPLICATION IS IN PROGRESS" in event.message:
                    job.cancel()

            job.subscribe(press_cancel)
            await finished(job)
            seen["status"] = lab.sql("main", "SELECT status FROM replication_status")
            seen["slons"] = lab.main.run(["sh", "-c", SLONS]).stdout
            second = runner.submit(SyncRequest(lab.cluster.name, Engine.PLAYOUT))
            await finished(second)
            return job, second
        finally:
            await runner.close()
            await pool.close()

    job, second = lab.run(go)
    assert job.state is JobState.CANCELLED
    logs = _logs(job)
    assert any(m.startswith("stopping copy_config.sh on main") for m in logs)
    assert any("ran /opt/playout/bin/replication_stopped.sh on main" in m for m in logs)
    assert seen["status"] == "stopped"
    assert "host=127.17.59" not in seen["slons"]
    records = {r.id: r for r in store.jobs(kind="sync")}
    assert records[job.id].state == "cancelled"
    # The next sync runs straight through: no 'already in progress', no fix offered.
    assert second.state is JobState.SUCCEEDED, second.error
    assert confirm.seen == []
    assert not any("already in progress" in m for m in _logs(second))
    assert lab.sql("main", "SELECT status FROM replication_status") == "stopped"


def test_a_connection_dropped_mid_delta_is_retried_and_succeeds(sync_lab: SyncLab) -> None:
    lab = sync_lab
    lab.sql("main", "UPDATE dvb_services SET name = 'Icareus retry' WHERE service_id = 3")
    store = Store.in_memory()
    dropped = threading.Event()

    def drop(event: Any) -> None:
        # After the tables were compared, before the rows are written: RST every SSH packet
        # of backup (its sessions and tunnels die), and let it back in a second later.
        if event.kind is EventKind.LOG and "rows differ" in event.message and not dropped.is_set():
            dropped.set()
            lab.backup.block(22, mode="reject")
            threading.Timer(1.0, lab.backup.unblock, (22,)).start()

    async def go() -> Job[object]:
        pool = lab.pool()
        runner = SyncRunner(
            lambda _n: lab.cluster, pool, store=store, retry=RetryPolicy(4, 2.0, 2.0, 8.0)
        )
        try:
            job = runner.submit(SyncRequest(lab.cluster.name, Engine.DELTA))
            job.subscribe(drop)
            await finished(job)
            return job
        finally:
            await runner.close()
            await pool.close()

    try:
        job = lab.run(go)
    finally:
        lab.backup.unblock(22)
    assert dropped.is_set()
    assert job.state is JobState.SUCCEEDED, job.error
    assert any(m.startswith("try 1 of 4 failed") for m in _logs(job))
    assert lab.sql("backup", "SELECT name FROM dvb_services WHERE service_id = 3") == (
        "Icareus retry"
    )
    [entry] = history(store)
    assert entry.state == "succeeded" and entry.retries >= 1
    assert entry.result.startswith("succeeded after")
