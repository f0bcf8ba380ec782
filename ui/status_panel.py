"""The cluster status table, like the Web Console's Monitoring ▸ Cluster status.

One row per server, one column per check of the health model (:mod:`pmc.health`): a state
dot, a few words, the cause in the tooltip and — for every check that failed, needs
attention or could not be made — on a details line under the server's row, spanning the
table, word-wrapped and selectable. Columns are sized to their content at every refresh (the
last one stretches), text is elided in the middle only where the full text is in the
tooltip and on the details line, and Copy puts the whole table with its causes on the
clipboard.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QBrush, QGuiApplication, QKeySequence, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pmc.health import assess
from pmc.health_model import ASPECT_TIPS, Aspect, ClusterHealth, Finding, State
from pmc.inventory import Cluster
from pmc.status import empty_status
from pmc.words import ROLE_NAMES

from .health_look import dot, state_colour
from .icons import icon
from .translation import moment_text, tr, when
from .widgets import button, wrapped_label
from .widgets import row as widget_row

COLUMNS = ("Server", "Role", *(aspect.title for aspect in Aspect))
ASPECT_COLUMNS = {aspect: 2 + i for i, aspect in enumerate(Aspect)}
SERVER_ROLE = Qt.ItemDataRole.UserRole + 1
DETAIL_MARGIN = 6


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
        self.table.setAccessibleName(tr("Cluster status"))
        for column, title in enumerate(COLUMNS):
            header_item = QTableWidgetItem(tr(title))
            if column >= 2:
                header_item.setToolTip(tr(ASPECT_TIPS[list(Aspect)[column - 2]]))
            self.table.setHorizontalHeaderItem(column, header_item)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.sectionResized.connect(lambda *_: self._fit_details())
        self.table.itemSelectionChanged.connect(self._selected)
        self.copy_action = QAction(icon("copy"), tr("&Copy the status with its causes"), self)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.copy_action.triggered.connect(self.copy)
        self.table.addAction(self.copy_action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.checked_label = QLabel(tr("Not checked yet"))
        self.checked_label.setProperty("role", "hint")
        self.interval = QSpinBox()
        self.interval.setRange(2, 3600)
        self.interval.setSuffix(tr(" s"))
        self.interval.setPrefix(tr("every "))
        self.interval.setToolTip(tr("How often PMC probes every server of the cluster"))
        self.interval.setAccessibleName(tr("Refresh interval"))
        self.interval.valueChanged.connect(self.intervalChanged)
        self.refresh_button = QPushButton(icon("refresh"), tr("Refresh now"))
        self.refresh_button.setToolTip(tr("Probe every server of the cluster now (F5)"))
        self.refresh_button.clicked.connect(self.refreshRequested)
        self.drift_interval = QSpinBox()
        self.drift_interval.setObjectName("driftInterval")
        self.drift_interval.setRange(1, 24 * 60)
        self.drift_interval.setValue(5)
        self.drift_interval.setSuffix(tr(" min"))
        self.drift_interval.setPrefix(tr("every "))
        self.drift_interval.setAccessibleName(tr("Drift interval"))
        self.drift_interval.setToolTip(
            tr("How often PMC compares main and backup for the Config drift column "
               "(tables, data files and config files: heavier than the other probes)")
        )  # fmt: skip
        self.drift_interval.valueChanged.connect(self.driftIntervalChanged)
        self.copy_button = button(
            "copy",
            tr("Copy"),
            name="copyStatus",
            tip=tr("Copy the table and every cause to the clipboard"),
            clicked=self.copy,
        )
        self.sync_button = button(
            "sync",
            tr("Synchronize all servers"),
            name="statusSync",
            tip=tr("Open the sync panel and synchronize the cluster now"),
            clicked=self.syncRequested,
        )
        refresh_label = QLabel(tr("&Refresh"))
        refresh_label.setBuddy(self.interval)
        drift_label = QLabel(tr("&Drift"))
        drift_label.setBuddy(self.drift_interval)
        bar = widget_row(
            self.checked_label, refresh_label, self.interval, drift_label, self.drift_interval,
            self.refresh_button, self.copy_button, self.sync_button,
        )  # fmt: skip
        # another PMC job holds the cluster (pmc.cluster_lock): who, what, since when
        self.lock_label = wrapped_label("lockLabel")
        self.lock_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lock_label.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.lock_label)
        layout.addWidget(self.table)
        self.setTabOrder(self.table, self.interval)
        self._rows: dict[str, int] = {}
        self._details: dict[str, QLabel] = {}
        self.health: ClusterHealth | None = None
        self._quiet = False

    # building --------------------------------------------------------------------------
    def show_cluster(self, cluster: Cluster | None) -> None:
        self._quiet = True
        self.table.setRowCount(0)
        self.table.clearSpans()
        self._rows.clear()
        self._details.clear()
        for server in cluster.servers if cluster else ():
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.insertRow(row + 1)
            self._rows[server.name] = row
            name = QTableWidgetItem(icon("server"), server.name)
            name.setToolTip(
                tr("{name}: eth3 {management_address}").format(
                    name=server.name, management_address=server.management_address
                )
            )
            name.setData(SERVER_ROLE, server.name)
            self.table.setItem(row, 0, name)
            role = QTableWidgetItem(tr(ROLE_NAMES[server.role]))
            role.setData(SERVER_ROLE, server.name)
            self.table.setItem(row, 1, role)
            spacer = QTableWidgetItem("")
            spacer.setData(SERVER_ROLE, server.name)
            spacer.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(row + 1, 0, spacer)
            self.table.setSpan(row + 1, 0, 1, len(COLUMNS))
            details = wrapped_label(f"details-{server.name}")
            details.setTextFormat(Qt.TextFormat.RichText)
            details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            details.setContentsMargins(DETAIL_MARGIN, 2, DETAIL_MARGIN, 4)
            details.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            details.setAccessibleName(tr("Causes on {server}").format(server=server.name))
            self.table.setIndexWidget(self.table.model().index(row + 1, 0), details)
            self._details[server.name] = details
            self.table.setRowHidden(row + 1, True)
        self._quiet = False
        if cluster is not None:
            self.apply_health(assess(cluster, empty_status(cluster)))
        else:
            self.health = None
            self.checked_label.setText(tr("No cluster selected"))

    def apply_health(self, health: ClusterHealth) -> None:
        """Show ``health`` (of the shown cluster): cells, causes, the time of the check."""
        self.health = health
        for name, server in health.servers.items():
            row = self._rows.get(name)
            if row is None:
                continue
            for aspect, finding in server.findings.items():
                self.table.setItem(row, ASPECT_COLUMNS[aspect], _cell(finding, name))
            problems = server.problems()
            details = self._details[name]
            details.setText(_details_html(problems))
            self.table.setRowHidden(row + 1, not problems)
        lock = health.lock
        self.lock_label.setVisible(lock is not None)
        self.lock_label.setText(
            tr("🔒 Cluster {cluster} is {lock}").format(cluster=health.cluster, lock=lock)
            if lock
            else ""
        )
        self.lock_label.setToolTip(
            tr("Another PMC job changes this cluster now; other jobs that would change it are "
               "refused until it ends")
            if lock
            else ""
        )  # fmt: skip
        self.fit_columns()
        if health.checked:
            self.checked_label.setText(tr("Last check: {when}").format(when=when(health.checked)))
        else:
            self.checked_label.setText(tr("Not checked yet"))

    def fit_columns(self) -> None:
        """Every column as wide as its widest cell or its title (the last one stretches),
        then the details lines as tall as their wrapped text."""
        hidden = [r + 1 for r in self._rows.values() if not self.table.isRowHidden(r + 1)]
        for row in hidden:  # the details lines span the table: they do not size a column
            self.table.setRowHidden(row, True)
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)  # again: the last column takes the room left
        header.setStretchLastSection(True)
        for row in hidden:
            self.table.setRowHidden(row, False)
        self._fit_details()

    def _fit_details(self) -> None:
        width = min(
            sum(self.table.columnWidth(c) for c in range(self.table.columnCount())),
            self.table.viewport().width(),
        )
        for name, row in self._rows.items():
            label = self._details.get(name)
            if label is None or self.table.isRowHidden(row + 1):
                continue
            label.setMaximumWidth(max(width, 100))
            self.table.setRowHeight(row + 1, label.heightForWidth(max(width, 100)) + 2)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_details()

    # reading ---------------------------------------------------------------------------
    @property
    def servers(self) -> list[str]:
        """The servers with a row, in order."""
        return list(self._rows)

    def cell(self, server: str, column: str) -> QTableWidgetItem | None:
        row = self._rows.get(server)
        if row is None:
            return None
        return self.table.item(row, COLUMNS.index(column))

    def details(self, server: str) -> str:
        """The causes shown under ``server``'s row ("" when the line is hidden)."""
        row = self._rows.get(server)
        if row is None or self.table.isRowHidden(row + 1) or self.health is None:
            return ""
        problems = self.health.servers[server].problems()
        return "\n".join(f"{tr(aspect.title)}: {finding.cause}" for aspect, finding in problems)

    def as_text(self) -> str:
        """The table as the operator sees it, with every cause (what Copy puts on the
        clipboard)."""
        lines = ["\t".join(tr(title) for title in COLUMNS)]
        for name, row in self._rows.items():
            cells = []
            for column in range(len(COLUMNS)):
                item = self.table.item(row, column)
                cells.append(item.text() if item is not None else "")
            lines.append("\t".join(cells))
            lines += [f"    {line}" for line in self.details(name).splitlines()]
        if self.health is not None:
            lines.append(self.health.summary)
        return "\n".join(lines)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.as_text())

    # selection -------------------------------------------------------------------------
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
            if item is not None and item.data(SERVER_ROLE):
                self.serverActivated.emit(str(item.data(SERVER_ROLE)))


def _details_html(problems: list[tuple[Aspect, Finding]]) -> str:
    """The causes under a row: each check's title in its state's colour, then its cause."""
    lines = [
        f"<span style='color:{state_colour(finding.state).name()}; font-weight:600'>"
        f"{html.escape(tr(aspect.title))}:</span> {html.escape(finding.cause)}"
        for aspect, finding in problems
    ]
    return "<br>".join(lines)


def _cell(finding: Finding, server: str) -> QTableWidgetItem:
    text = tr(finding.text) if finding.text else "–"
    if finding.moment is not None:
        text = moment_text(finding.moment)
    item = QTableWidgetItem(text)
    if finding.state is not State.NOT_APPLICABLE:
        item.setIcon(dot(finding.state))
    if finding.state in (State.FAILED, State.WARNING):
        item.setForeground(QBrush(state_colour(finding.state)))
    elif finding.state in (State.UNKNOWN, State.NOT_APPLICABLE):
        faded = QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)
        item.setForeground(QBrush(faded))
    tip = [text for text in (finding.cause, finding.detail) if text]
    if finding.checked:
        tip.append(tr("Last check: {when}").format(when=when(finding.checked)))
    item.setToolTip("\n".join(tip))
    item.setData(Qt.ItemDataRole.UserRole, finding.state.value)
    item.setData(SERVER_ROLE, server)
    return item
