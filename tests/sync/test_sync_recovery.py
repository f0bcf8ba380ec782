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
        differ = " differ in " in event.message or " differs in " in event.message
        if event.kind is EventKind.LOG and differ and not dropped.is_set():
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


def test_clean_up_after_stop_kills_only_the_runs_slons(sync_lab: SyncLab) -> None:
    """Slons that outlived the stopped script (e.g. in another process group) are stopped when
    they belong to the run (its eth2 addresses); others are left alone."""
    lab = sync_lab
    fake = "/run/pmc-test-slon/slon"  # tail under the name slon: keeps running, any arguments
    start = (
        f"mkdir -p {fake.rsplit('/', 1)[0]} && cp /usr/bin/tail {fake} &&"
        f" for host in 127.17.59.129 127.99.0.1; do setsid {fake} -F /dev/null"
        " dbname=playout host=$host >/dev/null 2>&1 & done; sleep 0.3"
    )
    lab.main.run(["sh", "-c", start])
    lab.sql("main", "UPDATE replication_status SET status = 'running' WHERE id = 1")
    primary, secondary = lab.cluster.server("main"), lab.cluster.server("backup")
    try:
        lab.job(
            lambda conns: (
                lambda ctx: copy_config.clean_up_after_stop(primary, secondary, conns, ctx)
            ),
            store := Store.in_memory(),
        )
        left = lab.main.run(["sh", "-c", SLONS]).stdout
    finally:
        lab.main.run(["sh", "-c", f"pkill -KILL -x slon; rm -rf {fake.rsplit('/', 1)[0]}"])
    assert "host=127.17.59.129" not in left
    assert "host=127.99.0.1" in left
    assert lab.sql("main", "SELECT status FROM replication_status") == "stopped"
    [record] = store.jobs(kind="sync")
    messages = [r.message for r in store.job_log_of(record.id)]
    assert any(m.startswith("stopped 1 slon process(es) left by the stopped copy on main")
               for m in messages)  # fmt: skip
