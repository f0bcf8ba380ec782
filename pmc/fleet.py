"""Every cluster at a glance: one :class:`FleetRow` per cluster of the inventory — its health
in a word (in sync, drift, link down, job running, in use by whom…), the active server, the
last sync and its result — read from the health model (:mod:`pmc.health`), ordered problems
first (:func:`ordered`) and filtered by name (:func:`matching`). :func:`probe_fleet` probes
every cluster concurrently, with one :class:`~pmc.probe_batches.Gate` bounding the SSH
sessions in flight and UDP probes behind the refresh (:mod:`pmc.background_probes`).

The GUI's fleet view and ``pmc status`` both read these rows. Pure but for
:func:`probe_fleet` (which only runs the probes it is given a runner for).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any

from pmc.background_probes import BackgroundProbes
from pmc.drift_cache import DriftCache
from pmc.health import assess
from pmc.health_model import Aspect, ClusterHealth, State
from pmc.inventory import Cluster, Inventory
from pmc.probe_batches import BatchedRunner, Gate
from pmc.probes import probe_cluster
from pmc.status import ClusterStatus, CommandRunner, Health, LinkKind, empty_status
from pmc.store import Store
from pmc.sync.history import JOB_KIND, entry_of


class Standing(StrEnum):
    """A cluster's health in a word, worst first in :data:`RANK`."""

    UNREACHABLE = "unreachable"
    LINK_DOWN = "link down"
    FAILED = "failed"
    IN_USE = "in use"  # a PMC job holds the cluster lock
    DRIFT = "drift"
    ATTENTION = "needs attention"
    NOT_CHECKED = "not checked yet"
    IN_SYNC = "in sync"
    OK = "OK"


RANK = {standing: rank for rank, standing in enumerate(Standing)}
_LINKS = (Aspect.ETH2, Aspect.HTTP, Aspect.TCP, Aspect.UDP)


@dataclasses.dataclass(frozen=True)
class LastSync:
    """The cluster's last sync (not a dry run) as this desktop's job history has it."""

    when: float | None = None  # seconds since the epoch; None: never synchronized here
    result: str = ""  # succeeded, failed after 2 retries, running…

    @property
    def text(self) -> str:
        if self.when is None:
            return "never"
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.when))


@dataclasses.dataclass(frozen=True)
class FleetRow:
    cluster: str
    standing: Standing
    state: State  # the health model's overall state, for colours
    summary: str  # the health model's one line
    active: str  # the server that is the source of truth now
    last_sync: LastSync
    holder: str = ""  # who holds the cluster lock, when one does
    checked: float = 0.0
    problems: tuple[str, ...] = ()  # every cause worth reading, one line each

    @property
    def health(self) -> str:
        """The health column: the standing, with the holder when the cluster is in use."""
        if self.standing is Standing.IN_USE and self.holder:
            return f"in use: {self.holder}"
        return self.standing.value

    def as_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "health": self.standing.value,
            "state": self.state.value,
            "summary": self.summary,
            "active_server": self.active,
            "locked_by": self.holder or None,
            "last_sync": None
            if self.last_sync.when is None
            else time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.last_sync.when)),
            "last_sync_result": self.last_sync.result or None,
            "problems": list(self.problems),
            "checked": None
            if not self.checked
            else time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.checked)),
        }


def standing_of(health: ClusterHealth, *, job_running: bool = False) -> Standing:
    """``health`` in a word: what stops the cluster first (a server PMC cannot reach, a
    link down), then who uses it, then drift."""
    if not health.checked:
        return Standing.NOT_CHECKED
    findings = [(a, f) for s in health.servers.values() for a, f in s.findings.items()]
    if any(a is Aspect.SSH and f.state is State.FAILED for a, f in findings):
        return Standing.UNREACHABLE
    if any(a in _LINKS and f.state is State.FAILED for a, f in findings):
        return Standing.LINK_DOWN
    if health.overall is State.FAILED:
        return Standing.FAILED
    if health.lock is not None or job_running:
        return Standing.IN_USE
    drift = [f for a, f in findings if a is Aspect.DRIFT]
    if any(f.state is State.WARNING for f in drift):
        return Standing.DRIFT
    if health.overall is State.WARNING:
        return Standing.ATTENTION
    compared = [f for f in drift if f.state is not State.NOT_APPLICABLE]
    if compared and all(f.state is State.OK for f in compared):
        return Standing.IN_SYNC
    return Standing.OK


def active_and_last_sync(cluster: Cluster, store: Store | None) -> tuple[str, LastSync]:
    """The cluster's active server as the inventory records it (main until a switchover) and
    its last sync in this desktop's job history: the newest sync job of the cluster, never
    another kind of job, nor a dry run (it changes nothing)."""
    server = cluster.active_server
    active = server.name if server else (cluster.servers[0].name if cluster.servers else "")
    if store is None:
        return active, LastSync()
    for record in store.jobs(kind=JOB_KIND):
        if record.cluster == cluster.name and not entry_of(record).dry_run:
            entry = entry_of(record, store)  # its log too: the retries
            return active, LastSync(entry.started, entry.result)
    return active, LastSync()


def row_of(
    cluster: Cluster,
    health: ClusterHealth,
    store: Store | None = None,
    *,
    job_running: bool = False,
) -> FleetRow:
    active, last = active_and_last_sync(cluster, store)
    lock = health.lock
    holder = ""
    if lock is not None:
        holder = f"{lock.holder.user}@{lock.holder.desktop} ({lock.holder.job})"
    elif job_running:
        holder = "this PMC"
    return FleetRow(
        cluster.name,
        standing_of(health, job_running=job_running),
        health.overall,
        health.summary,
        active,
        last,
        holder,
        health.checked,
        tuple(health.problem_lines()),
    )


def ordered(rows: Iterable[FleetRow]) -> list[FleetRow]:
    """Problems first (worst standing, then worst state), then by name."""
    return sorted(rows, key=lambda r: (RANK[r.standing], -r.state.severity, r.cluster.lower()))


def matching(rows: Iterable[FleetRow], text: str) -> list[FleetRow]:
    """The rows whose cluster name holds ``text`` (any case; every row when empty)."""
    wanted = text.strip().lower()
    return [r for r in rows if wanted in r.cluster.lower()]


RunnerFor = Callable[[Cluster], CommandRunner | None]


@dataclasses.dataclass
class FleetProbe:
    """What lasts between refreshes of a fleet: the session gate, the UDP probes behind the
    refreshes, the drift cache (optional)."""

    gate: Gate
    background: BackgroundProbes
    drift: DriftCache | None = None
    # the probes behind the refresh have sessions of their own: a UDP probe holds its
    # session for its whole timeout, and must never keep a refresh's script waiting
    background_gate: Gate = dataclasses.field(default_factory=Gate)


async def probe_fleet(
    clusters: Sequence[Cluster], runner_for: RunnerFor, probe: FleetProbe
) -> dict[str, ClusterStatus]:
    """One refresh of every cluster, all at once (a cluster without a runner: not checked)."""

    async def one(cluster: Cluster) -> ClusterStatus:
        runner = runner_for(cluster)
        if runner is None:
            return empty_status(cluster)
        drift = probe.drift.probe() if probe.drift is not None else None
        return await probe_cluster(
            cluster,
            BatchedRunner(runner, probe.gate),
            drift=drift,
            background=probe.background,
            background_runner=BatchedRunner(runner, probe.background_gate),
        )

    statuses = await asyncio.gather(*(one(c) for c in clusters))
    return {c.name: s for c, s in zip(clusters, statuses, strict=True)}


def with_answers(status: ClusterStatus, background: BackgroundProbes) -> ClusterStatus:
    """``status`` with the background probes' answers that came after it."""
    links = {
        key: background.known.get(f"{status.cluster}/{key}", check)
        for key, check in status.links.items()
    }
    return dataclasses.replace(status, links=links)


def remember_answers(status: ClusterStatus, background: BackgroundProbes) -> None:
    """Keep the UDP answers of a refresh that waited for them (probed within it) as the last
    known ones, which the next refreshes behind which UDP is probed show meanwhile (a probe
    behind an earlier refresh still under way is dropped: its answer would be older)."""
    for key, check in status.links.items():
        if key.startswith(f"{LinkKind.UDP.value}:") and check.health is not Health.UNKNOWN:
            background.remember(f"{status.cluster}/{key}", check)


def fleet_rows(
    inventory: Inventory, statuses: dict[str, ClusterStatus], store: Store | None = None
) -> list[FleetRow]:
    """Every cluster's row, problems first."""
    rows = []
    for cluster in inventory.clusters:
        status = statuses.get(cluster.name) or empty_status(cluster)
        rows.append(row_of(cluster, assess(cluster, status), store))
    return ordered(rows)
