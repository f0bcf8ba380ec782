"""What the open window works on: a :class:`pmc.workspace.Workspace` (the inventory file, the
connection pool, the job history), the running jobs and the signals widgets follow. A QObject
so that widgets can follow changes; no business logic: the file's policy, edits and secrets
are the workspace's, run off the GUI thread."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from pmc.inventory import Cluster, Inventory, Server
from pmc.jobs import Job
from pmc.probes import PoolRunner
from pmc.remote.errors import HostKeyChanged
from pmc.remote.host_key_replace import Replaced, replace_host_key
from pmc.remote.pool import ConnectionPool
from pmc.setup import jobs as setup_jobs
from pmc.status import CommandOutcome, CommandRunner
from pmc.store import Store
from pmc.workspace import Workspace

from .job_signals import JobSignals
from .tasks import Tasks

log = logging.getLogger(__name__)


class Session(QObject):
    inventoryChanged = Signal()
    jobStarted = Signal(object)  # a pmc.jobs.Job
    hostKeyChanged = Signal(str, str, object)  # cluster, server, HostKeyChanged

    def __init__(self, workspace: Workspace, tasks: Tasks, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.tasks = tasks
        self.signals = JobSignals(self)
        self.jobs: list[Job[object]] = []

    @property
    def inventory_path(self) -> Path:
        return self.workspace.path

    @property
    def pool(self) -> ConnectionPool | None:
        """The SSH transport (None: this session talks to no server)."""
        return self.workspace.pool if self.workspace.connects else None

    @property
    def store(self) -> Store | None:
        return self.workspace.store

    # inventory -----------------------------------------------------------------------------
    @property
    def inventory(self) -> Inventory:
        return self.workspace.inventory

    def load(self) -> Inventory:
        """Read the inventory file (a missing file is an empty inventory; one with problems
        is refused, naming them, and the inventory read before stays)."""
        try:
            return self.workspace.load()
        finally:
            self.inventoryChanged.emit()

    async def edit(self, change: Callable[[Workspace], object]) -> None:
        """Run ``change`` of the workspace (a save, a server stored with its secrets…) off the
        GUI thread; the widgets then show the inventory as it is (changed, or as it was if
        the change was refused)."""
        try:
            await self.tasks.in_thread(change, self.workspace)
        finally:
            self.inventoryChanged.emit()

    async def save(self, inventory: Inventory) -> None:
        await self.edit(lambda workspace: workspace.save(inventory))

    async def replace_cluster(self, name: str, cluster: Cluster) -> None:
        """Save the inventory with cluster ``name`` replaced by ``cluster`` (renamed, edited
        servers, a new sync schedule…)."""
        await self.edit(lambda workspace: workspace.replace_cluster(cluster, replacing=name))

    async def remove_server(self, cluster: Cluster, server: Server) -> list[str]:
        """``server`` out of the inventory, then its secrets out of the keyring; what could
        not be deleted there, a sentence each."""
        kept = tuple(s for s in cluster.servers if s.name != server.name)
        await self.replace_cluster(cluster.name, dataclasses.replace(cluster, servers=kept))
        return await self.tasks.in_thread(self.workspace.forget_secrets, cluster.name, [server])

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

    async def replace_host_key(self, cluster: Cluster, server: Server, wanted: str) -> Replaced:
        """Trust only ``server``'s key with fingerprint ``wanted`` from now on (audited)."""
        if self.pool is None:
            raise RuntimeError("PMC has no SSH transport in this session")
        return await replace_host_key(
            self.pool.connection(server, cluster.name), wanted, store=self.store
        )

    def verify_job(self, cluster: Cluster) -> Job[object] | None:
        """A Job running the setup engine's verify on ``cluster`` (None without an engine)."""
        if self.pool is None:
            return None
        return setup_jobs.verify_job(self.workspace, cluster)

    # jobs ----------------------------------------------------------------------------------
    def run_job(self, job: Job[object]) -> asyncio.Task[object]:
        """The GUI's one door for a job (setup, verify, export, import, switchover:
        :mod:`pmc.setup.jobs`, :mod:`pmc.bundle.jobs`, :mod:`pmc.switchover`): start ``job`` on
        the loop; the jobs panel and every listener see its events."""
        if job._store is None and self.store is not None:
            job._store = self.store
        self.track(job)
        return self.tasks.spawn(_quiet(job), what=job.title)

    def track(self, job: Job[object]) -> None:
        """Show ``job`` (one a queue starts, e.g. the sync runner's) like those of
        :meth:`run_job`: in the jobs panel and to every listener."""
        self.jobs.append(job)
        self.signals.attach(job)
        self.jobStarted.emit(job)


async def _quiet(job: Job[object]) -> object:
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
