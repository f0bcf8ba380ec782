"""The tree of clusters and their servers on the left of the main window."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem, QWidget

from pmc.inventory import Inventory
from ui.icons import icon

CLUSTER_ROLE = Qt.ItemDataRole.UserRole
SERVER_ROLE = Qt.ItemDataRole.UserRole + 1


class ClusterTree(QTreeWidget):
    """Emits :attr:`clusterSelected` (name) and :attr:`serverSelected` (cluster, server)."""

    clusterSelected = Signal(str)
    serverSelected = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("clusterTree")
        self.setHeaderLabels(["Cluster / server", "Address"])
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(False)
        self.setToolTip("Clusters and their servers. Double-click a server to edit it.")
        self.itemSelectionChanged.connect(self._selection_changed)
        self._quiet = False

    def populate(self, inventory: Inventory) -> None:
        selected = self.current()
        self._quiet = True
        self.clear()
        for cluster in inventory.clusters:
            top = QTreeWidgetItem([cluster.name, cluster.architecture.title])
            top.setIcon(0, icon("cluster"))
            top.setData(0, CLUSTER_ROLE, cluster.name)
            top.setToolTip(0, f"{cluster.name}: {cluster.architecture.title}")
            for server in cluster.servers:
                item = QTreeWidgetItem(
                    [f"{server.name} ({server.role.value})", server.management_address]
                )
                item.setIcon(0, icon("server"))
                item.setData(0, CLUSTER_ROLE, cluster.name)
                item.setData(0, SERVER_ROLE, server.name)
                eth2 = server.redundancy_address or "—"
                item.setToolTip(
                    0,
                    f"{server.name}: {server.role.value}\neth3 {server.management_address}\n"
                    f"eth2 {eth2}\nSSH {server.ssh_user}@…:{server.ssh_port}",
                )
                top.addChild(item)
            self.addTopLevelItem(top)
            top.setExpanded(True)
        self.resizeColumnToContents(0)
        self._quiet = False
        if selected is not None:
            self.select(*selected)
        elif self.topLevelItemCount():
            self.setCurrentItem(self.topLevelItem(0))

    def current(self) -> tuple[str, str | None] | None:
        item = self.currentItem()
        if item is None:
            return None
        return item.data(0, CLUSTER_ROLE), item.data(0, SERVER_ROLE)

    def select(self, cluster: str, server: str | None = None) -> bool:
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            if top.data(0, CLUSTER_ROLE) != cluster:
                continue
            if server is None:
                self.setCurrentItem(top)
                return True
            for j in range(top.childCount()):
                child = top.child(j)
                if child.data(0, SERVER_ROLE) == server:
                    self.setCurrentItem(child)
                    return True
        return False

    def _selection_changed(self) -> None:
        if self._quiet:
            return
        current = self.current()
        if current is None:
            return
        cluster, server = current
        if server:
            self.serverSelected.emit(cluster, server)
        else:
            self.clusterSelected.emit(cluster)
