"""Background refresh of the cluster status: every server probed concurrently on the loop.

One refresh at a time per poller; a tick while a refresh is still running is skipped. The
interval is the operator's (the status table's "Refresh every"), kept in QSettings. Probing
goes on while the window is hidden in the tray (the tray and its notifications need it).
Every result is judged by the health model (:func:`pmc.health.assess`) once, here:
:attr:`StatusPoller.assessed` carries the :class:`~pmc.health.ClusterHealth` that the
table, the diagram, the tree, the status bar and the tray all show. The config
drift column comes from a :class:`pmc.drift_cache.DriftCache` (when the window has a sync runner):
drift reports are heavier, so they are fetched at their own, slower interval and never while
a sync of the cluster runs. The refreshes of the timer probe SNMP (UDP) behind them, as the
fleet does (:mod:`pmc.background_probes`: the last answer shown with its age, republished as
a new one comes); a refresh asked for (the window's first, Refresh status) waits for it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, Signal

from pmc.drift_cache import DriftCache
from pmc.fleet import remember_answers, with_answers
from pmc.health import assess
from pmc.health_model import ClusterHealth
from pmc.inventory import Cluster
from pmc.probes import probe_cluster
from pmc.status import ClusterStatus, empty_status

from .periodic_refresh import PeriodicRefresh
from .session import Session

log = logging.getLogger(__name__)


class StatusPoller(PeriodicRefresh):
    updated = Signal(object)  # ClusterStatus
    assessed = Signal(object)  # ClusterHealth of the same status

    def __init__(
        self,
        session: Session,
        parent: QObject | None = None,
        *,
        drift: DriftCache | None = None,
        syncing: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(session, parent)
        self.drift = drift
        self.syncing = syncing  # True while a sync of the cluster runs: keep the last report
        self.cluster: Cluster | None = None
        self.last: ClusterStatus | None = None
        self.health: ClusterHealth | None = None
        self._timer.timeout.connect(lambda: self.refresh(udp_behind=True))

    @property
    def interval(self) -> int:
        return self._timer.interval() // 1000

    def watch(self, cluster: Cluster | None, *, start: bool = True) -> None:
        """Probe ``cluster`` from now on (None stops). ``start=False``: remember it, probe
        nothing yet (a window not shown yet; showing it calls this again)."""
        changed = cluster != self.cluster
        self.cluster = cluster
        if changed and self._task is not None:
            self._task.cancel()
            self._task = None
        if cluster is None:
            self._timer.stop()
            return
        if changed:
            self.publish(cluster, empty_status(cluster))
        if start:
            self.start()

    def apply_drift(self) -> None:
        """Show the drift cache's latest report now (without probing anything)."""
        if self.drift is None or self.last is None or self.cluster is None:
            return
        servers = dict(self.last.servers)
        for name, status in servers.items():
            cell = self.drift.cell(self.cluster.name, name)
            if cell is not None:
                servers[name] = dataclasses.replace(status, drift=cell)
        self.publish(self.cluster, dataclasses.replace(self.last, servers=servers))

    def publish(self, cluster: Cluster, status: ClusterStatus) -> None:
        """Show ``status`` of ``cluster`` (judged once here) to everything that follows."""
        self.last = status
        self.health = assess(cluster, status)
        self.updated.emit(status)
        self.assessed.emit(self.health)

    @property
    def polling(self) -> bool:
        """The timer runs: a probe every :attr:`interval` seconds."""
        return self._timer.isActive()

    def refresh(
        self, *, drift: bool = False, udp_behind: bool = False
    ) -> asyncio.Task[None] | None:
        """Start a refresh now unless one is running; returns its task. ``drift``: compare
        the servers' configuration now too, whatever the drift interval says. ``udp_behind``:
        SNMP probed behind the refresh (its last answer shown), as the timer's refreshes do."""
        if drift and self.drift is not None and self.cluster is not None:
            self.drift.invalidate(self.cluster.name)
        if self.cluster is None or self.session.pool is None or self.busy:
            return self._task if self.busy else None
        self._task = self.session.tasks.spawn(
            self._refresh(self.cluster, udp_behind), what="status refresh"
        )
        return self._task

    async def _refresh(self, cluster: Cluster, udp_behind: bool = False) -> None:
        runner = self.session.runner_for(cluster)
        assert runner is not None
        behind = self.background if udp_behind else None
        self.refreshing.emit(True)
        try:
            drift = None
            if self.drift is not None:
                paused = self.syncing is not None and self.syncing(cluster.name)
                drift = self.drift.probe(fetch_now=False if paused else None)
            status = await probe_cluster(cluster, runner, drift=drift, background=behind)
        finally:
            if shiboken6.isValid(self):  # the window may have closed meanwhile
                self.refreshing.emit(False)
        if behind is None:
            remember_answers(status, self.background)
        if cluster == self.cluster and shiboken6.isValid(self):
            self.publish(cluster, status)

    def _publish_answers(self) -> None:
        if self.cluster is not None and self.last is not None and not self.busy:
            self.publish(self.cluster, with_answers(self.last, self.background))
