"""The cluster status table, like the Web Console's Monitoring ▸ Cluster status."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pmc.inventory import Cluster
from pmc.status import Check, ClusterStatus, Health, ServerStatus

from .icons import icon
from .topology_items import HEALTH_COLOURS, ROLE_WORDS

COLUMNS = (
    "Server",
    "Role",
    "SSH",
    "Playout API",
    "PostgreSQL (eth2)",
    "Replication",
    "Last synchronisation",
    "Config drift",
)
CHECK_COLUMNS = {
    2: "reachable",
    3: "api",
    4: "postgres",
    5: "replication",
    6: "last_sync",
    7: "drift",
}
SYMBOL = {Health.UP: "●", Health.DOWN: "✖", Health.UNKNOWN: "○"}


class StatusPanel(QWidget):
    """Rows per server; :attr:`serverActivated` when the operator picks a row."""

    serverActivated = Signal(str)
    refreshRequested = Signal()
    intervalChanged = Signal(int)
    driftIntervalChanged = Signal(int)  # minutes
    syncRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusPanel")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("statusTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selected)
        self.checked_label = QLabel("Not checked yet")
        self.checked_label.setProperty("role", "hint")
        self.interval = QSpinBox()
        self.interval.setRange(2, 3600)
        self.interval.setSuffix(" s")
        self.interval.setPrefix("every ")
        self.interval.setToolTip("How often PMC probes every server of the cluster")
        self.interval.valueChanged.connect(self.intervalChanged)
        self.refresh_button = QPushButton(icon("refresh"), "Refresh now")
        self.refresh_button.setToolTip("Probe every server of the cluster now (F5)")
        self.refresh_button.clicked.connect(self.refreshRequested)
        self.drift_interval = QSpinBox()
        self.drift_interval.setObjectName("driftInterval")
        self.drift_interval.setRange(1, 24 * 60)
        self.drift_interval.setValue(5)
        self.drift_interval.setSuffix(" min")
        self.drift_interval.setPrefix("every ")
        self.drift_interval.setToolTip(
            "How often PMC compares main and backup for the Config drift column "
            "(tables, data files and config files: heavier than the other probes)"
        )
        self.drift_interval.valueChanged.connect(self.driftIntervalChanged)
        self.sync_button = QPushButton(icon("sync"), "Synchronize all servers")
        self.sync_button.setObjectName("statusSync")
        self.sync_button.setToolTip("Open the sync panel and synchronise the cluster now")
        self.sync_button.clicked.connect(self.syncRequested)
        bar = QHBoxLayout()
        bar.addWidget(self.checked_label, 1)
        bar.addWidget(QLabel("Refresh"))
        bar.addWidget(self.interval)
        bar.addWidget(QLabel("Drift"))
        bar.addWidget(self.drift_interval)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.sync_button)
        # another PMC job holds the cluster (pmc.cluster_lock): who, what, since when
        self.lock_label = QLabel()
        self.lock_label.setObjectName("lockLabel")
        self.lock_label.setWordWrap(True)
        self.lock_label.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.lock_label)
        layout.addWidget(self.table)
        self._rows: dict[str, int] = {}
        self._quiet = False

    def show_cluster(self, cluster: Cluster | None) -> None:
        self._quiet = True
        self.table.setRowCount(0)
        self._rows.clear()
        for server in cluster.servers if cluster else ():
            row = self.table.rowCount()
            self.table.insertRow(row)
            self._rows[server.name] = row
            name = QTableWidgetItem(icon("server"), server.name)
            name.setToolTip(f"{server.name}: eth3 {server.management_address}")
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, QTableWidgetItem(ROLE_WORDS[server.role]))
            self.set_row(ServerStatus(server.name))
        self._quiet = False
        if not self.table.property("sized"):
            self.table.resizeColumnsToContents()

    def set_row(self, status: ServerStatus) -> None:
        row = self._rows.get(status.server)
        if row is None:
            return
        for column, attribute in CHECK_COLUMNS.items():
            check: Check = getattr(status, attribute)
            item = QTableWidgetItem(f"{SYMBOL[check.health]}  {check.summary}")
            item.setForeground(QBrush(_cell_colour(check.health)))
            item.setToolTip(check.tooltip)
            item.setData(Qt.ItemDataRole.UserRole, check.health.value)
            self.table.setItem(row, column, item)

    def apply_status(self, status: ClusterStatus) -> None:
        for server_status in status.servers.values():
            self.set_row(server_status)
        lock = status.lock
        self.lock_label.setVisible(lock is not None)
        self.lock_label.setText(f"🔒 Cluster {status.cluster} is {lock}" if lock else "")
        self.lock_label.setToolTip(
            "Another PMC job changes this cluster now; other jobs that would change it are refused"
            " until it ends"
            if lock
            else ""
        )
        if status.checked and not self.table.property("sized"):
            self.table.resizeColumnsToContents()
            self.table.setProperty("sized", True)
        if status.checked:
            self.checked_label.setText(
                "Last check: " + time.strftime("%H:%M:%S", time.localtime(status.checked))
            )

    def cell(self, server: str, column: str) -> QTableWidgetItem | None:
        row = self._rows.get(server)
        if row is None:
            return None
        return self.table.item(row, COLUMNS.index(column))

    def select_server(self, server: str) -> None:
        row = self._rows.get(server)
        if row is not None:
            self._quiet = True
            self.table.selectRow(row)
            self._quiet = False

    def _selected(self) -> None:
        if self._quiet:
            return
        rows = self.table.selectionModel().selectedRows()
        if rows:
            item = self.table.item(rows[0].row(), 0)
            if item is not None:
                self.serverActivated.emit(item.text())


def _cell_colour(health: Health) -> QColor:
    if health is Health.UNKNOWN:
        return QApplication.palette().color(QPalette.ColorRole.PlaceholderText)
    return HEALTH_COLOURS[health]
