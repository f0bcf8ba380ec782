"""Background refresh of every cluster at once, for the fleet view: one
:func:`pmc.fleet.probe_fleet` per tick on the Qt loop (qasync; SSH in worker threads: the
loop never blocks), one gate bounding the sessions in flight, SNMP probed behind the refresh
(its answers republished as they come). Each result is judged once
(:func:`pmc.health.assess`): :attr:`FleetPoller.rowsChanged` carries the rows the fleet view
shows, and a cluster whose health changed is told to the tray (:func:`pmc.alerts.changes`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, Signal

from pmc.alerts import Change, changes
from pmc.fleet import FleetProbe, FleetRow, probe_fleet, row_of, with_answers
from pmc.health import assess
from pmc.health_model import ClusterHealth
from pmc.probe_batches import Gate
from pmc.status import ClusterStatus, empty_status

from .periodic_refresh import PeriodicRefresh
from .session import Session

log = logging.getLogger(__name__)


class FleetPoller(PeriodicRefresh):
    rowsChanged = Signal(object)  # list[FleetRow]
    healthChanged = Signal(object)  # list[Change]: what changed since the last refresh

    def __init__(
        self,
        session: Session,
        parent: QObject | None = None,
        *,
        job_running: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(session, parent)
        self.job_running = job_running or (lambda _cluster: False)
        self.probe = FleetProbe(Gate(), self.background)
        self.statuses: dict[str, ClusterStatus] = {}
        self.health: dict[str, ClusterHealth] = {}
        self.rows: list[FleetRow] = []
        self._timer.timeout.connect(self.refresh)

    def refresh(self) -> asyncio.Task[None] | None:
        """Start a refresh of every cluster unless one is running; returns its task."""
        if self.busy:
            return self._task
        if self.session.pool is None or not self.session.inventory.clusters:
            self.publish({})
            return None
        self._task = self.session.tasks.spawn(self._refresh(), what="status of every cluster")
        return self._task

    async def _refresh(self) -> None:
        clusters = list(self.session.inventory.clusters)
        self.refreshing.emit(True)
        try:
            statuses = await probe_fleet(clusters, self.session.runner_for, self.probe)
        finally:
            if shiboken6.isValid(self):
                self.refreshing.emit(False)
        if shiboken6.isValid(self):
            self.publish(statuses)

    def publish(self, statuses: dict[str, ClusterStatus]) -> None:
        """Judge ``statuses`` once, show the rows and tell what changed."""
        self.statuses = statuses
        found: list[Change] = []
        rows = []
        health: dict[str, ClusterHealth] = {}
        for cluster in self.session.inventory.clusters:
            status = statuses.get(cluster.name) or empty_status(cluster)
            judged = assess(cluster, status)
            found += changes(self.health.get(cluster.name), judged)
            health[cluster.name] = judged
            rows.append(
                row_of(
                    cluster, judged, self.session.store, job_running=self.job_running(cluster.name)
                )
            )
        self.health = health
        self.rows = rows
        self.rowsChanged.emit(rows)
        if found:
            self.healthChanged.emit(found)

    def _publish_answers(self) -> None:
        if self.statuses and not self.busy:
            self.publish({n: with_answers(s, self.background) for n, s in self.statuses.items()})
