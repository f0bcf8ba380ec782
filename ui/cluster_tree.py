"""The tree of clusters and their servers on the left of the main window."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractItemView, QMenu, QTreeWidget, QTreeWidgetItem, QWidget

from pmc.inventory import Inventory

from .icons import icon

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
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu_requested)
        self.server_actions: list[QAction | str | None] = []
        self.cluster_actions: list[QAction | str | None] = []
        self.context_menu: QMenu | None = None

    def set_context_actions(
        self, server: list[QAction | str | None], cluster: list[QAction | str | None]
    ) -> None:
        """The right-click menus: QActions, None for a separator, and a submenu as the title
        string followed by its actions up to the next None (e.g. "Se&ttings", export, import)."""
        self.server_actions = server
        self.cluster_actions = cluster

    def context_menu_at(self, pos: QPoint) -> QMenu | None:
        """Select the row at ``pos`` (viewport coordinates) and build its menu."""
        item = self.itemAt(pos)
        if item is None:
            return None
        self.setCurrentItem(item)
        entries = self.server_actions if item.data(0, SERVER_ROLE) else self.cluster_actions
        if self.context_menu is not None:
            self.context_menu.deleteLater()
        menu = QMenu(self)
        menu.setObjectName("treeContextMenu")
        target: QMenu = menu
        for entry in entries:
            if entry is None:
                target = menu
                menu.addSeparator()
            elif isinstance(entry, str):
                target = menu.addMenu(icon("settings"), entry)
            else:
                target.addAction(entry)
        self.context_menu = menu
        return menu

    def _context_menu_requested(self, pos: QPoint) -> None:
        menu = self.context_menu_at(pos)
        if menu is not None:
            menu.popup(self.viewport().mapToGlobal(pos))

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
        elif (first := self.topLevelItem(0)) is not None:
            self.setCurrentItem(first)

    def current(self) -> tuple[str, str | None] | None:
        item = self.currentItem()
        if item is None:
            return None
        return item.data(0, CLUSTER_ROLE), item.data(0, SERVER_ROLE)

    def select(self, cluster: str, server: str | None = None) -> bool:
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            if top is None or top.data(0, CLUSTER_ROLE) != cluster:
                continue
            if server is None:
                self.setCurrentItem(top)
                return True
            for j in range(top.childCount()):
                child = top.child(j)
                if child is not None and child.data(0, SERVER_ROLE) == server:
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
