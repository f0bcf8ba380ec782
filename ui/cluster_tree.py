"""The tree of clusters and their servers on the left of the main window: each row with a
badge of its health (the selected cluster's, from :mod:`pmc.health`), and a filter that
keeps the rows whose name, address or role match what the operator types."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pmc.health_model import STATE_WORDS, ClusterHealth, State
from pmc.inventory import Inventory
from pmc.words import ROLE_NAMES, server_label

from .health_look import badged
from .icons import icon
from .translation import tr

CLUSTER_ROLE = Qt.ItemDataRole.UserRole
SERVER_ROLE = Qt.ItemDataRole.UserRole + 1
FILTER_ROLE = Qt.ItemDataRole.UserRole + 2
STATE_ROLE = Qt.ItemDataRole.UserRole + 3


class ClusterTree(QTreeWidget):
    """Emits :attr:`clusterSelected` (name) and :attr:`serverSelected` (cluster, server)."""

    clusterSelected = Signal(str)
    serverSelected = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("clusterTree")
        self.setHeaderLabels([tr("Cluster / server"), tr("Address")])
        self.setAccessibleName(tr("Clusters and servers"))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(False)
        self.setToolTip(tr("Clusters and their servers. Double-click a server to edit it."))
        header = self.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.health: ClusterHealth | None = None
        self.itemSelectionChanged.connect(self._selection_changed)
        self._quiet = False
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu_requested)
        self.server_actions: list[QAction | str | None] = []
        self.cluster_actions: list[QAction | str | None] = []
        self.context_menu: QMenu | None = None
        self._filter = ""

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
            top = QTreeWidgetItem([cluster.name, ""])
            top.setIcon(0, icon("cluster"))
            top.setData(0, CLUSTER_ROLE, cluster.name)
            top.setToolTip(0, f"{cluster.name}: {tr(cluster.architecture.title)}")
            top.setData(0, FILTER_ROLE, f"{cluster.name} {cluster.architecture.title}".lower())
            for server in cluster.servers:
                role = tr(ROLE_NAMES[server.role])
                item = QTreeWidgetItem(
                    [server_label(server.name, server.role), server.management_address]
                )
                item.setIcon(0, icon("server"))
                item.setData(0, CLUSTER_ROLE, cluster.name)
                item.setData(0, SERVER_ROLE, server.name)
                eth2 = server.redundancy_address or "—"
                item.setToolTip(
                    0,
                    tr("{name}: {role}\neth3 {eth3}\neth2 {eth2}\nSSH {user}@…:{port}").format(
                        name=server.name,
                        role=role,
                        eth3=server.management_address,
                        eth2=eth2,
                        user=server.ssh_user,
                        port=server.ssh_port,
                    ),
                )
                words = [server.name, role, server.management_address, eth2]
                item.setData(0, FILTER_ROLE, " ".join(words).lower())
                top.addChild(item)
            self.addTopLevelItem(top)
            top.setExpanded(True)
        self._quiet = False
        if self.health is not None:
            self.apply_health(self.health)
        self.filter(self._filter)
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

    # health and filter ---------------------------------------------------------------------
    def apply_health(self, health: ClusterHealth) -> None:
        """Badge the rows of ``health``'s cluster with their state (the other clusters keep
        theirs: nothing probes them)."""
        self.health = health
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            if top is None or top.data(0, CLUSTER_ROLE) != health.cluster:
                continue
            _badge(top, "cluster", health.overall if health.checked else None, health.summary)
            for j in range(top.childCount()):
                child = top.child(j)
                server = health.servers.get(str(child.data(0, SERVER_ROLE))) if child else None
                if child is None or server is None:
                    continue
                state = server.overall if health.checked else None
                problems = [f"{tr(a.title)}: {tr(f.text)}" for a, f in server.problems()]
                _badge(child, "server", state, "\n".join(problems))

    def state_of(self, cluster: str, server: str | None = None) -> str:
        """The state a row's badge shows ("" when it has none)."""
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            if top is None or top.data(0, CLUSTER_ROLE) != cluster:
                continue
            rows = [top] + [top.child(j) for j in range(top.childCount())]
            for item in rows:
                if item is not None and item.data(0, SERVER_ROLE) == server:
                    return str(item.data(0, STATE_ROLE) or "")
        return ""

    def filter(self, text: str) -> None:
        """Show only the rows matching ``text`` (a cluster stays when one of its servers
        matches; all of a cluster's servers show when the cluster matches)."""
        self._filter = text
        words = text.lower().split()
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            if top is None:
                continue
            cluster_hit = all(w in str(top.data(0, FILTER_ROLE)) for w in words)
            any_child = False
            for j in range(top.childCount()):
                child = top.child(j)
                if child is None:
                    continue
                hit = cluster_hit or all(w in str(child.data(0, FILTER_ROLE)) for w in words)
                child.setHidden(not hit)
                any_child = any_child or hit
            top.setHidden(not (cluster_hit or any_child))


def _badge(item: QTreeWidgetItem, name: str, state: State | None, why: str) -> None:
    item.setIcon(0, badged(name, state))
    item.setData(0, STATE_ROLE, state.value if state is not None else "")
    base = str(item.toolTip(0)).split("\n\n", 1)[0]
    if state is not None:
        base += f"\n\n{tr(STATE_WORDS[state])}" + (f"\n{why}" if why else "")
    item.setToolTip(0, base)


class ClusterBrowser(QWidget):
    """The tree with its filter field above it (the Clusters dock)."""

    def __init__(self, tree: ClusterTree, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = tree
        self.search = QLineEdit()
        self.search.setObjectName("treeFilter")
        self.search.setPlaceholderText(tr("Filter by name, address or role"))
        self.search.setAccessibleName(tr("Filter clusters and servers"))
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.textChanged.connect(tree.filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.search)
        layout.addWidget(tree)
        self.setTabOrder(self.search, tree)
