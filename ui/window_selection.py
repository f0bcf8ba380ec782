"""The main window's selection: the cluster and server selected in the tree, kept in step with
the topology, the status table and the sync panel whichever of them the operator clicks, and
the health of the selected cluster (:class:`pmc.health.ClusterHealth`, judged once by the
poller) shown in the table, the diagram and the tree. :attr:`Selection.changed` tells the
window to enable its actions anew."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from pmc.health_model import ClusterHealth
from pmc.inventory import Cluster, Server

from .cluster_tree import ClusterTree
from .session import Session
from .status_panel import StatusPanel
from .status_poller import StatusPoller
from .sync_panel import SyncPanel
from .topology_view import TopologyView


class Selection(QObject):
    changed = Signal()

    def __init__(
        self,
        session: Session,
        *,
        tree: ClusterTree,
        topology: TopologyView,
        status: StatusPanel,
        poller: StatusPoller,
        sync: SyncPanel | None,
        shown: Callable[[], bool],
    ) -> None:
        super().__init__(tree)
        self.session = session
        self.tree = tree
        self.topology = topology
        self.status = status
        self.poller = poller
        self.sync = sync
        self.shown = shown  # whether the window has been shown (probes go on in the tray)
        tree.clusterSelected.connect(self._cluster_selected)
        tree.serverSelected.connect(self._server_selected)
        topology.topology.activated.connect(self._topology_activated)
        status.serverActivated.connect(self._status_server_activated)
        poller.assessed.connect(self.health_updated)

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

    def select(self, cluster: str, server: str | None = None) -> None:
        self.tree.select(cluster, server)

    def show_inventory(self) -> None:
        """The inventory was (re)read: the tree, and the views of the selected cluster."""
        self.tree.populate(self.session.inventory)
        self._show(self.current_cluster())
        self.changed.emit()

    def follow_cluster(self, cluster: Cluster | None) -> None:
        """The sync panel shows ``cluster`` (the selected one)."""
        if self.sync is not None and (cluster is None or cluster.name != self.sync.cluster):
            self.sync.set_cluster(cluster.name if cluster else None)

    def health_updated(self, health: ClusterHealth) -> None:
        cluster = self.topology.topology.cluster
        if cluster is None or health.cluster != cluster.name:
            return
        self.topology.apply_health(health)
        self.status.apply_health(health)
        self.tree.apply_health(health)

    def _show(self, cluster: Cluster | None) -> None:
        self.follow_cluster(cluster)
        if cluster != self.topology.topology.cluster:
            self.topology.show_cluster(cluster)
            self.status.show_cluster(cluster)
        self.poller.watch(cluster, start=self.shown())
        if self.poller.health is not None:
            self.health_updated(self.poller.health)

    def _cluster_selected(self, name: str) -> None:
        self._show(self.session.cluster(name))
        self.changed.emit()

    def _server_selected(self, cluster: str, server: str) -> None:
        self._show(self.session.cluster(cluster))
        self.topology.topology.select("server", server)
        self.status.select_server(server)
        self.changed.emit()

    def _topology_activated(self, kind: str, key: str) -> None:
        cluster = self.current_cluster()
        if cluster is None:
            return
        server = key if kind == "server" else key.rsplit(":", maxsplit=1)[-1]
        self._select_quietly(cluster.name, server)
        self.status.select_server(server)
        self.changed.emit()

    def _status_server_activated(self, server: str) -> None:
        cluster = self.current_cluster()
        if cluster is None:
            return
        self._select_quietly(cluster.name, server)
        self.topology.topology.select("server", server)
        self.changed.emit()

    def _select_quietly(self, cluster: str, server: str) -> None:
        self.tree.blockSignals(True)
        self.tree.select(cluster, server)
        self.tree.blockSignals(False)
