"""The main window's selection (a mixin of :class:`ui.main_window.MainWindow`): the cluster
and server selected in the tree, kept in step with the topology, the status table and the sync
panel whichever of them the operator clicks; status results shown in both views; the status
and drift intervals."""

from __future__ import annotations

from typing import Any

from pmc.inventory import Cluster, Server
from pmc.jobs import Job
from pmc.status import ClusterStatus
from ui.main_window_base import WindowBase


class SelectionMixin(WindowBase):
    """Methods only; the tree, views, poller and settings are the main window's."""

    # selection -----------------------------------------------------------------------------
    def current_cluster(self) -> Cluster | None:
        current = self.tree.current()
        if current is None:
            return self.session.inventory.clusters[0] if self.session.inventory.clusters else None
        return self.session.cluster(current[0])

    def current_server(self) -> Server | None:
        current = self.tree.current()
        if current is None or current[1] is None:
            return None
        return self.session.server(current[0], current[1])

    def _inventory_changed(self) -> None:
        self.tree.populate(self.session.inventory)
        self._show(self.current_cluster())
        self._update_actions()
        self._apply_schedules()

    def _show(self, cluster: Cluster | None) -> None:
        self._follow_cluster(cluster)
        if cluster != self.topology.topology.cluster:
            self.topology.show_cluster(cluster)
            self.status.show_cluster(cluster)
        self.poller.watch(cluster, start=self.isVisible())  # hidden (tray): no probes
        if self.poller.last is not None:
            self._status_updated(self.poller.last)

    def _cluster_selected(self, name: str) -> None:
        self._show(self.session.cluster(name))
        self._update_actions()

    def _follow_cluster(self, cluster: Cluster | None) -> None:
        if self.sync is not None and (cluster is None or cluster.name != self.sync.cluster):
            self.sync.set_cluster(cluster.name if cluster else None)

    def _server_selected(self, cluster: str, server: str) -> None:
        self._show(self.session.cluster(cluster))
        self.topology.topology.select("server", server)
        self.status.select_server(server)
        self._update_actions()

    def _topology_activated(self, kind: str, key: str) -> None:
        cluster = self.current_cluster()
        if cluster is None:
            return
        server = key if kind == "server" else key.rsplit(":", maxsplit=1)[-1]
        self.tree.blockSignals(True)
        self.tree.select(cluster.name, server)
        self.tree.blockSignals(False)
        self.status.select_server(server)
        self._update_actions()

    def _status_server_activated(self, server: str) -> None:
        cluster = self.current_cluster()
        if cluster is None:
            return
        self.tree.blockSignals(True)
        self.tree.select(cluster.name, server)
        self.tree.blockSignals(False)
        self.topology.topology.select("server", server)
        self._update_actions()

    def _status_updated(self, status: ClusterStatus) -> None:
        self.topology.topology.apply_status(status)
        self.status.apply_status(status)

    def _refresh_now(self) -> None:
        self.poller.refresh()

    def _interval_changed(self, seconds: int) -> None:
        self.poller.set_interval(seconds)
        if self.settings is not None:
            self.settings.setValue("status/interval", seconds)

    def _drift_interval_changed(self, minutes: int) -> None:
        if self.drift is not None:
            self.drift.interval = minutes * 60
        if self.settings is not None:
            self.settings.setValue("status/drift_minutes", minutes)

    def _job_started(self, job: Job[Any]) -> None:
        if job.kind != "sync":
            self.jobs_dock.raise_()
