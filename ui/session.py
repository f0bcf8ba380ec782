"""What the open window works on: the inventory file, the job history, running jobs and the
connection to servers. A QObject so that widgets can follow changes; no business logic."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from pmc.inventory import Cluster, Inventory, Server
from pmc.inventory_file import LoadedInventory, load_inventory, save_inventory
from pmc.jobs import Job
from pmc.remote.errors import HostKeyChanged
from pmc.remote.host_keys import host_id
from pmc.remote.pool import ConnectionPool
from pmc.status import CommandOutcome, CommandRunner, PoolRunner
from pmc.store import Store
from ui.job_signals import JobSignals
from ui.tasks import Tasks

log = logging.getLogger(__name__)


class Session(QObject):
    inventoryChanged = Signal()
    jobStarted = Signal(object)  # a pmc.jobs.Job
    hostKeyChanged = Signal(str, str, object)  # cluster, server, HostKeyChanged

    def __init__(
        self,
        inventory_path: Path,
        tasks: Tasks,
        *,
        store: Store | None = None,
        pool: ConnectionPool | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.inventory_path = inventory_path
        self.tasks = tasks
        self.store = store
        self.pool = pool
        self.signals = JobSignals(self)
        self.jobs: list[Job[Any]] = []
        self.loaded = LoadedInventory(path=inventory_path, inventory=Inventory(), exists=False)

    # inventory -----------------------------------------------------------------------------
    @property
    def inventory(self) -> Inventory:
        return self.loaded.inventory

    def load(self) -> LoadedInventory:
        """Read the inventory file (a missing file is an empty inventory)."""
        self.loaded = load_inventory(self.inventory_path, missing_ok=True)
        self.inventoryChanged.emit()
        return self.loaded

    async def save(self, inventory: Inventory) -> None:
        """Write ``inventory`` to the file (off the GUI thread), then tell the widgets."""
        await self.tasks.in_thread(save_inventory, inventory, self.inventory_path)
        self.loaded = await self.tasks.in_thread(load_inventory, self.inventory_path)
        self.inventoryChanged.emit()

    async def replace_cluster(self, name: str, cluster: Cluster) -> None:
        """Save the inventory with cluster ``name`` replaced by ``cluster`` (renamed, edited
        servers, a new sync schedule…)."""
        await self.save(replace_cluster(self.inventory, name, cluster))

    def cluster(self, name: str) -> Cluster | None:
        try:
            return self.inventory.cluster(name)
        except KeyError:
            return None

    def server(self, cluster: str, name: str) -> Server | None:
        found = self.cluster(cluster)
        if found is None:
            return None
        try:
            return found.server(name)
        except KeyError:
            return None

    # servers -------------------------------------------------------------------------------
    def runner_for(self, cluster: Cluster) -> CommandRunner | None:
        """How status probes run commands on ``cluster``'s servers (None: not connected)."""
        if self.pool is None:
            return None
        return _WatchedRunner(self, PoolRunner(self.pool, cluster.name), cluster.name)

    async def connect(  # type: ignore[override]  # the API name; shadows QObject.connect
        self, cluster: Cluster, server: Server
    ) -> None:
        """Open (or check) the connection to ``server``; a new host key asks the operator."""
        if self.pool is None:
            raise RuntimeError("PMC has no SSH transport in this session")
        await self.pool.connection(server, cluster.name).transport()

    def forget_refusals(self) -> None:
        """An explicit Connect asks again about host keys the operator refused before."""
        if self.pool is not None:
            forget = getattr(self.pool.trust, "forget_refusals", None)
            if callable(forget):
                forget()

    async def forget_host_key(self, server: Server) -> None:
        """Remove ``server``'s trusted keys (after a changed-key warning the operator accepted)."""
        if self.pool is None:
            return
        await self.tasks.in_thread(
            self.pool.known_hosts.remove, host_id(server.management_address, server.ssh_port)
        )
        for cluster in self.inventory.clusters:
            for known in cluster.servers:
                if known == server:
                    self.pool.connection(server, cluster.name).drop()

    def verify_job(self, cluster: Cluster) -> Job[Any] | None:
        """A Job running the setup engine's verify on ``cluster`` (None without an engine)."""
        if self.pool is None:
            return None
        from ui.engine import verify_job

        return verify_job(self, cluster)

    # jobs ----------------------------------------------------------------------------------
    def run_job(self, job: Job[Any]) -> asyncio.Task[Any]:
        """Start ``job`` on the loop; the jobs panel and every listener see its events."""
        if job._store is None and self.store is not None:
            job._store = self.store
        self.jobs.append(job)
        self.signals.attach(job)
        self.jobStarted.emit(job)
        return self.tasks.spawn(_quiet(job), what=job.title)


def replace_cluster(inventory: Inventory, name: str, cluster: Cluster) -> Inventory:
    """``inventory`` with cluster ``name`` replaced by ``cluster``."""
    return Inventory(tuple(cluster if c.name == name else c for c in inventory.clusters))


async def _quiet(job: Job[Any]) -> Any:
    """Run ``job``; its failure is already in its events (and in the jobs panel)."""
    try:
        return await job.run()
    except Exception:
        return None


class _WatchedRunner:
    """Runs probes through the pool; a changed host key is reported to the window once."""

    def __init__(self, session: Session, inner: CommandRunner, cluster: str) -> None:
        self.session = session
        self.inner = inner
        self.cluster = cluster

    async def run(self, server: Server, command: str, *, timeout: float) -> CommandOutcome:
        try:
            return await self.inner.run(server, command, timeout=timeout)
        except HostKeyChanged as exc:
            self.session.hostKeyChanged.emit(self.cluster, server.name, exc)
            raise
