"""The runner's queueing, retries and cancel (the engines are replaced by a stand-in body;
the engines themselves are tested against the lab in test_sync_lab.py)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from pmc.inventory import Cluster, Role, Server
from pmc.jobs import JobContext, JobState
from pmc.remote.errors import ConnectionLost
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool
from pmc.store import Store
from pmc.sync.runner import RetryPolicy, Schedule, SyncRequest, SyncRunner, finished
from tests.wait import wait_until_async

CLUSTERS = {
    name: Cluster(
        name,
        servers=(
            Server("main", "127.0.0.2", "127.0.1.2", Role.MAIN),
            Server("backup", "127.0.0.3", "127.0.1.3", Role.BACKUP),
        ),
    )
    for name in ("a", "b")
}


class FakeRunner(SyncRunner):
    def __init__(self, tmp: Path, failures: int = 0, **kw: object) -> None:
        pool = ConnectionPool(known_hosts=KnownHosts(tmp / "known_hosts"))
        super().__init__(CLUSTERS.__getitem__, pool, store=Store.in_memory(), **kw)  # type: ignore[arg-type]
        self.active: dict[str, int] = {"a": 0, "b": 0}
        self.most: dict[str, int] = {"a": 0, "b": 0}
        self.order: list[str] = []
        self.failures = failures
        self.gate = asyncio.Event()

    async def _sync(self, cluster: Cluster, request: SyncRequest, ctx: JobContext) -> object:
        self.active[cluster.name] += 1
        self.most[cluster.name] = max(self.most[cluster.name], self.active[cluster.name])
        try:
            await self.gate.wait()
            if self.failures:
                self.failures -= 1
                raise ConnectionLost("the connection dropped", server="main (127.0.0.2)")
            await ctx.acheckpoint()
            self.order.append(f"{cluster.name}:{request.reason}")
            return f"synced {cluster.name}"
        finally:
            self.active[cluster.name] -= 1


def test_one_sync_per_cluster_at_a_time_others_queued(tmp_path: Path) -> None:
    async def go() -> FakeRunner:
        runner = FakeRunner(tmp_path)
        jobs = [runner.submit(SyncRequest(c, reason=str(i))) for i, c in enumerate("aaba")]
        await wait_until_async(
            lambda: runner.active == {"a": 1, "b": 1},
            timeout=10,
            what="a sync of each cluster to start",
        )
        assert runner.running("a") is jobs[0]
        assert runner.queued("a") == [jobs[1], jobs[3]]
        assert jobs[1].state is JobState.PENDING
        runner.gate.set()
        states = [await finished(j) for j in jobs]
        assert states == [JobState.SUCCEEDED] * 4
        await runner.close()
        return runner

    runner = asyncio.run(go())
    assert runner.most == {"a": 1, "b": 1}
    assert [o for o in runner.order if o.startswith("a")] == ["a:0", "a:1", "a:3"]
    records = runner.store.jobs(kind="sync")  # type: ignore[union-attr]
    assert len(records) == 4 and {r.state for r in records} == {"succeeded"}


def test_transient_failures_are_retried_with_back_off(tmp_path: Path) -> None:
    async def go() -> tuple[JobState, list[str]]:
        runner = FakeRunner(tmp_path, failures=2, retry=RetryPolicy(3, 0.01, 2, 0.05))
        runner.gate.set()
        job = runner.submit(SyncRequest("a"))
        state = await finished(job)
        await runner.close()
        return state, [e.message for e in job.events]

    state, messages = asyncio.run(go())
    assert state is JobState.SUCCEEDED
    assert sum("trying again" in m for m in messages) == 2


def test_retries_give_up_after_the_last_attempt(tmp_path: Path) -> None:
    async def go() -> JobState:
        runner = FakeRunner(tmp_path, failures=5, retry=RetryPolicy(2, 0.01, 2, 0.05))
        runner.gate.set()
        job = runner.submit(SyncRequest("a"))
        state = await finished(job)
        assert isinstance(job.error, ConnectionLost)
        await runner.close()
        return state

    assert asyncio.run(go()) is JobState.FAILED


def test_cancel_a_queued_sync_and_a_running_one(tmp_path: Path) -> None:
    async def go() -> list[JobState]:
        runner = FakeRunner(tmp_path)
        first = runner.submit(SyncRequest("a"))
        second = runner.submit(SyncRequest("a"))
        await wait_until_async(
            lambda: runner.active["a"] == 1, timeout=10, what="the first sync to start"
        )
        runner.cancel(second)
        runner.cancel(first)
        runner.gate.set()
        states = [await finished(first), await finished(second)]
        await runner.close()
        return states

    assert asyncio.run(go()) == [JobState.CANCELLED, JobState.CANCELLED]


def test_unknown_cluster_is_refused_before_queueing(tmp_path: Path) -> None:
    async def go() -> None:
        runner = FakeRunner(tmp_path)
        with pytest.raises(KeyError):
            runner.submit(SyncRequest("nope"))
        await runner.close()

    asyncio.run(go())


def test_schedule_every_n_minutes_submits_syncs(tmp_path: Path) -> None:
    async def go() -> list[str]:
        runner = FakeRunner(tmp_path)
        runner.gate.set()
        runner.set_schedule(Schedule("b", every_minutes=0.05 / 60))
        await wait_until_async(
            lambda: len(runner.order) >= 2, timeout=10, what="two scheduled syncs"
        )
        await runner.close()
        return runner.order

    assert asyncio.run(go())[:2] == ["b:schedule", "b:schedule"]


def test_retry_delay_grows_and_is_capped() -> None:
    policy = RetryPolicy(5, 2.0, 2.0, 10.0)
    delays = [policy.delay(n) for n in range(1, 6)]
    assert 1.6 <= delays[0] <= 2.4
    assert 3.2 <= delays[1] <= 4.8
    assert all(d <= 12.0 for d in delays)


def test_inventory_schedules_are_applied_as_a_set(tmp_path: Path) -> None:
    from pmc.inventory import Inventory, SyncEngine, SyncSchedule
    from pmc.sync.runner import schedules_of

    a, b = CLUSTERS["a"], CLUSTERS["b"]
    inventory = Inventory((
        dataclasses.replace(a, sync=SyncSchedule(every_minutes=30, include_ts_outputs=True)),
        dataclasses.replace(b, sync=SyncSchedule()),  # settings only: no automatic sync
    ))  # fmt: skip
    [schedule] = schedules_of(inventory)
    assert schedule == Schedule("a", 30, False, 5.0, SyncEngine.DELTA, True)
    assert schedules_of(inventory, ["b"]) == []

    async def go() -> list[list[str]]:
        runner = FakeRunner(tmp_path)
        changes = [runner.set_schedules(schedules_of(inventory))]
        task = runner._schedules["a"][1]
        changes.append(runner.set_schedules([schedule]))  # unchanged: the timer keeps going
        assert runner._schedules["a"][1] is task
        changes.append(runner.set_schedules([Schedule("b", on_drift=True)]))
        assert [s.cluster for s in runner.schedules] == ["b"]
        await asyncio.wait([task], timeout=10)
        assert task.cancelled()
        await runner.close()
        return changes

    assert asyncio.run(go()) == [["a"], [], ["a", "b"]]
