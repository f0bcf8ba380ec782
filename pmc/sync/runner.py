"""The background sync runner: one sync per cluster at a time, the rest queued.

A :class:`SyncRunner` turns :class:`SyncRequest` objects into :class:`~pmc.jobs.Job` objects
(kind ``sync``, recorded in the history), runs them on the event loop it is started on (the
CLI's ``asyncio.run``, the GUI's qasync loop), retries transient failures (a dropped
connection) with exponential back-off, and runs optional schedules: every N minutes, or when
the drift check finds a difference. Schedules live in the inventory (``Cluster.sync``, the
``[clusters.sync]`` table): :func:`schedules_of` turns them into :class:`Schedule` objects and
:meth:`SyncRunner.set_schedules` applies a whole set (restarting only those that changed), so
a re-read inventory can be applied as it is. The GUI subscribes with
:meth:`SyncRunner.on_job` and then to each job's events; nothing here knows about Qt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from pmc.cluster_lock import cluster_lock
from pmc.errors import PmcError
from pmc.inventory import Cluster, Inventory, SyncEngine, SyncSchedule
from pmc.jobs import EventKind, Job, JobContext, JobState
from pmc.remote.connection import Connection
from pmc.remote.errors import CommandTimeout, ConnectionLost, Unreachable
from pmc.remote.pool import ConnectionPool
from pmc.store import Store
from pmc.sync import copy_config as playout_engine
from pmc.sync import delta_engine, newer_changes
from pmc.sync.drift import DriftReport, drift_report
from pmc.sync.table_rows import TransientDatabaseError

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[BaseException], ...] = (
    ConnectionLost,
    Unreachable,
    CommandTimeout,
    TransientDatabaseError,
)


Engine = SyncEngine
"""``Engine.PLAYOUT`` (Playout's copy_config.sh, with remediation) or ``Engine.DELTA`` (PMC's
native delta engine); the same enum as the inventory's ``engine``."""


@dataclass(frozen=True)
class SyncRequest:
    cluster: str
    engine: Engine = Engine.DELTA
    dry_run: bool = False
    include_ts_outputs: bool = False
    primary: str | None = None  # default: the cluster's active server
    reason: str = "operator"  # operator, schedule, drift
    discard_target_changes: bool = False  # the operator's word (pmc.sync.newer_changes)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all
    first_delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based), with jitter."""
        base = min(self.max_delay, self.first_delay * self.factor ** (attempt - 1))
        return base * (0.8 + 0.4 * random.random())  # noqa: S311


@dataclass(frozen=True)
class Schedule:
    cluster: str
    every_minutes: float | None = None  # sync this often
    on_drift: bool = False  # check for drift every check_minutes; sync when found
    check_minutes: float = 5.0
    engine: Engine = Engine.DELTA
    include_ts_outputs: bool = False

    @classmethod
    def of(cls, cluster: str, schedule: SyncSchedule) -> Schedule:
        """The runner's schedule for an inventory cluster's ``[clusters.sync]``."""
        return cls(
            cluster,
            schedule.every_minutes,
            schedule.on_drift,
            schedule.check_minutes,
            schedule.engine,
            schedule.include_ts_outputs,
        )

    @property
    def active(self) -> bool:
        return bool(self.every_minutes) or self.on_drift


def schedules_of(inventory: Inventory, names: Iterable[str] | None = None) -> list[Schedule]:
    """The active schedules of the inventory's clusters (of ``names`` only, if given)."""
    wanted = set(names) if names is not None else None
    found = []
    for cluster in inventory.clusters:
        if cluster.sync is None or (wanted is not None and cluster.name not in wanted):
            continue
        schedule = Schedule.of(cluster.name, cluster.sync)
        if schedule.active:
            found.append(schedule)
    return found


@dataclass
class _ClusterQueue:
    queue: asyncio.Queue[Job[object]] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    current: Job[object] | None = None
    waiting: list[Job[object]] = field(default_factory=list)


ClusterSource = Callable[[str], Cluster]
JobListener = Callable[[Job[object], SyncRequest], None]


class SyncRunner:
    """See the module docs. Create it, then :meth:`submit` from a running loop."""

    def __init__(
        self,
        clusters: ClusterSource,
        pool: ConnectionPool,
        *,
        store: Store | None = None,
        confirm: playout_engine.Confirm = playout_engine.refuse,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._clusters = clusters
        self.pool = pool
        self.store = store
        self.confirm = confirm
        self.retry = retry or RetryPolicy()
        self._queues: dict[str, _ClusterQueue] = {}
        self._listeners: list[JobListener] = []
        self._schedules: dict[str, tuple[Schedule, asyncio.Task[None]]] = {}
        self.last_drift: dict[str, DriftReport] = {}
        self.last_job: dict[str, Job[object]] = {}

    def use_clusters(self, clusters: ClusterSource) -> None:
        """Look clusters up in ``clusters`` from now on (an inventory that was re-read);
        running and queued jobs keep the cluster they started with."""
        self._clusters = clusters

    # ---- observation ---------------------------------------------------------------------
    def on_job(self, listener: JobListener) -> Callable[[], None]:
        """Call ``listener(job, request)`` for every job submitted (queued or started)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def running(self, cluster: str) -> Job[object] | None:
        q = self._queues.get(cluster)
        return q.current if q else None

    def queued(self, cluster: str) -> list[Job[object]]:
        q = self._queues.get(cluster)
        return list(q.waiting) if q else []

    # ---- work ----------------------------------------------------------------------------
    def connections(self, cluster: Cluster) -> dict[str, Connection]:
        return {s.name: self.pool.connection(s, cluster.name) for s in cluster.servers}

    def submit(self, request: SyncRequest) -> Job[object]:
        """Queue a sync of ``request.cluster``; it starts when the cluster's previous one ends."""
        cluster = self._clusters(request.cluster)  # bad names fail here, before queueing

        async def body(ctx: JobContext) -> object:
            ctx.checkpoint()  # cancelled while queued
            return await self._with_retry(ctx, lambda: self._sync(cluster, request, ctx))

        title = f"Synchronize {cluster.name}{_direction(cluster, request)} ({request.engine.value}"
        title += ", dry run)" if request.dry_run else ")"
        job: Job[object] = Job("sync", title, body, cluster=cluster.name, store=self.store)
        q = self._queues.get(cluster.name)
        if q is None or q.worker is None or q.worker.done():
            q = q or _ClusterQueue()
            self._queues[cluster.name] = q
            q.worker = asyncio.get_running_loop().create_task(
                self._work(cluster.name, q), name=f"sync worker {cluster.name}"
            )
        q.waiting.append(job)
        q.queue.put_nowait(job)
        for listener in list(self._listeners):
            try:
                listener(job, request)
            except Exception:
                log.exception("sync job listener failed")
        return job

    async def run(self, request: SyncRequest) -> object:
        """Submit and wait for the result (raises what the job raised)."""
        job = self.submit(request)
        state = await finished(job)
        if state is JobState.SUCCEEDED:
            return job.result
        assert job.error is not None
        raise job.error

    async def _work(self, name: str, q: _ClusterQueue) -> None:
        while True:
            job = await q.queue.get()
            if job in q.waiting:
                q.waiting.remove(job)
            q.current = job
            try:
                job.start()
                with contextlib.suppress(Exception):
                    await job.wait()
            finally:
                q.current = None
                self.last_job[name] = job
                q.queue.task_done()

    async def wait_idle(self) -> None:
        """Until every queued job has ended."""
        for q in list(self._queues.values()):
            await q.queue.join()

    async def _with_retry(
        self, ctx: JobContext, attempt: Callable[[], Awaitable[object]]
    ) -> object:
        number = 1
        while True:
            try:
                return await attempt()
            except TRANSIENT as exc:
                if number >= self.retry.attempts:
                    raise
                delay = self.retry.delay(number)
                ctx.log(
                    f"try {number} of {self.retry.attempts} failed ({exc}); trying again in "
                    f"{delay:.0f} s",
                    level="warning",
                )
                await _sleep_or_cancel(ctx, delay)
                number += 1

    async def _sync(self, cluster: Cluster, request: SyncRequest, ctx: JobContext) -> object:
        if request.dry_run:  # read only: never waits on another operator's lock
            return await self._sync_locked(cluster, request, ctx)
        conns = self.connections(cluster)
        primary, secondary = delta_engine.pair(cluster, request.primary)
        # the secondary is changed from the primary, which must not change meanwhile
        both = [conns[primary.name], conns[secondary.name]]
        title = f"sync {secondary.name} from {primary.name} ({request.engine.value})"
        async with cluster_lock(both, job=title, log=ctx.log):
            return await self._sync_locked(cluster, request, ctx)

    async def _sync_locked(self, cluster: Cluster, request: SyncRequest, ctx: JobContext) -> object:
        conns = self.connections(cluster)
        primary, secondary = delta_engine.pair(cluster, request.primary)
        if request.dry_run:
            found = await newer_changes.look(
                cluster, conns, primary, secondary, include_ts_outputs=request.include_ts_outputs
            )
            if found.changes:
                ctx.log(f"a sync would be refused: {found.changes}", level="warning")

        async def sync() -> object:
            if request.engine is Engine.PLAYOUT:
                if request.dry_run:
                    ctx.log(
                        "dry run: would run "
                        + " ".join(playout_engine.command(primary, secondary))
                        + f" on {primary.name}"
                    )
                    return "dry run: copy config would copy every configuration table and file"
                return await playout_engine.copy_config(
                    cluster, conns, ctx, confirm=self.confirm, store=self.store,
                    primary_name=primary.name,
                )  # fmt: skip
            options = delta_engine.DeltaOptions(
                include_ts_outputs=request.include_ts_outputs, dry_run=request.dry_run
            )
            return await delta_engine.delta_sync(
                cluster, conns, ctx, options, primary_name=primary.name
            )

        if request.dry_run:
            return await sync()
        return await newer_changes.guarded(
            cluster, conns, primary, secondary, ctx=ctx, sync=sync,
            engine_name=request.engine.value,
            include_ts_outputs=request.include_ts_outputs,
            discard=request.discard_target_changes,
        )  # fmt: skip

    def cancel(self, job: Job[object]) -> None:
        """Stop a running job at its next safe point, or drop a queued one."""
        job.cancel()

    # ---- drift and schedules ---------------------------------------------------------------
    async def drift(self, cluster_name: str, *, config: bool = True) -> DriftReport:
        """The drift report of a cluster (read only); also kept in :attr:`last_drift`."""
        cluster = self._clusters(cluster_name)
        report = await drift_report(cluster, self.connections(cluster), config=config)
        self.last_drift[cluster_name] = report
        return report

    def set_schedule(self, schedule: Schedule) -> None:
        self.remove_schedule(schedule.cluster)
        self._clusters(schedule.cluster)
        task = asyncio.get_running_loop().create_task(
            self._scheduled(schedule), name=f"sync schedule {schedule.cluster}"
        )
        self._schedules[schedule.cluster] = (schedule, task)

    def set_schedules(self, schedules: Iterable[Schedule]) -> list[str]:
        """Make ``schedules`` the runner's whole set: start new or changed ones, stop those not
        listed, leave unchanged ones running (their timers keep counting). Returns the names
        of the clusters whose schedule changed."""
        wanted = {s.cluster: s for s in schedules if s.active}
        changed = []
        for name in list(self._schedules):
            if name not in wanted:
                self.remove_schedule(name)
                changed.append(name)
        for name, schedule in wanted.items():
            current = self._schedules.get(name)
            if current is None or current[0] != schedule:
                self.set_schedule(schedule)
                changed.append(name)
        return sorted(changed)

    def remove_schedule(self, cluster: str) -> None:
        entry = self._schedules.pop(cluster, None)
        if entry:
            entry[1].cancel()

    @property
    def schedules(self) -> list[Schedule]:
        return [s for s, _ in self._schedules.values()]

    async def _scheduled(self, schedule: Schedule) -> None:
        last_sync = time.monotonic()
        period = schedule.every_minutes * 60 if schedule.every_minutes else None
        check = schedule.check_minutes * 60 if schedule.on_drift else None
        while True:
            waits = [w for w in (period, check) if w]
            if not waits:
                return
            await asyncio.sleep(min(waits))
            if self.running(schedule.cluster) or self.queued(schedule.cluster):
                continue
            due = period is not None and time.monotonic() - last_sync >= period - 1
            reason = "schedule"
            if not due and check is not None:
                try:
                    report = await self.drift(schedule.cluster, config=False)
                except PmcError as exc:
                    log.warning("drift check of %s failed: %s", schedule.cluster, exc)
                    continue
                due = not report.delta.is_empty
                reason = "drift"
            if due:
                last_sync = time.monotonic()
                self.submit(
                    SyncRequest(
                        schedule.cluster,
                        schedule.engine,
                        include_ts_outputs=schedule.include_ts_outputs,
                        reason=reason,
                    )
                )

    async def close(self) -> None:
        """Cancel schedules, ask running jobs to stop, and wait for them."""
        for name in list(self._schedules):
            self.remove_schedule(name)
        for q in self._queues.values():
            for job in q.waiting:
                job.cancel()
            if q.current is not None:
                q.current.cancel()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(120):
                await self.wait_idle()
        for q in self._queues.values():
            if q.worker is not None:
                q.worker.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await q.worker


def _direction(cluster: Cluster, request: SyncRequest) -> str:
    """``: main → backup`` (nothing when the cluster has no such pair: the job says why)."""
    try:
        source, target = delta_engine.pair(cluster, request.primary)
    except PmcError:
        return ""
    return f": {source.name} → {target.name}"


async def _sleep_or_cancel(ctx: JobContext, seconds: float) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        ctx.checkpoint()
        await asyncio.sleep(min(0.2, left))
    ctx.checkpoint()


_FINAL = (EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED)


async def finished(job: Job[object]) -> JobState:
    """Wait for ``job`` (queued or running) to end; its final state (never raises)."""
    if job.state.is_final:
        return job.state
    done = asyncio.Event()
    unsubscribe = job.subscribe(lambda event: done.set() if event.kind in _FINAL else None)
    try:
        if not job.state.is_final:
            await done.wait()
    finally:
        unsubscribe()
    return job.state
