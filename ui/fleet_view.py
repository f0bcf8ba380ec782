"""Every cluster at a glance: one row per cluster of the inventory (:class:`pmc.fleet.FleetRow`:
its health in a word, the active server, the last sync and its result, the health model's
line), problems first, sortable by any column, filtered by name. The first page of the window
when the inventory holds more than one cluster; a double click opens the cluster."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from pmc.fleet import RANK, FleetRow, Standing, ordered
from pmc.health_model import State
from pmc.words import plural

from .health_look import state_colour
from .translation import tr

COLUMNS = ("Cluster", "Health", "Active server", "Last sync", "Result", "What needs a look")
RANK_ROLE = Qt.ItemDataRole.UserRole + 1  # the Health column sorts problems first
_FINE = (State.OK, State.NOT_APPLICABLE)
_QUIET = (Standing.OK, Standing.IN_SYNC, Standing.NOT_CHECKED)
_LOOK = {Standing.IN_USE: State.WARNING, Standing.DRIFT: State.WARNING}  # else the state's


class FleetView(QWidget):
    clusterOpened = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fleetView")
        self.title = QLabel()
        self.title.setObjectName("fleetTitle")
        self.filter = QLineEdit()
        self.filter.setObjectName("fleetFilter")
        self.filter.setPlaceholderText(tr("Filter clusters by name"))
        self.filter.setClearButtonEnabled(True)
        self.filter.setMinimumWidth(260)
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels([tr(c) for c in COLUMNS])
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setSortRole(RANK_ROLE)
        self.table = QTableView()
        self.table.setObjectName("fleetTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.filter)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table.doubleClicked.connect(self._opened)
        self.rows: list[FleetRow] = []
        self.show_rows([])

    def show_rows(self, rows: list[FleetRow]) -> None:
        """Show ``rows`` (problems first whatever their order), keeping the sort and filter."""
        self.rows = ordered(rows)
        self.model.setRowCount(0)
        for position, row in enumerate(self.rows):
            self.model.appendRow(self._items(row, position))
        problems = sum(1 for r in self.rows if r.standing not in _QUIET)
        self.title.setText(
            tr("{clusters}, {problems}").format(
                clusters=plural(len(self.rows), "cluster"),
                problems=plural(problems, "needing a look", "needing a look")
                if problems
                else tr("all OK"),
            )
        )

    def _items(self, row: FleetRow, position: int) -> list[QStandardItem]:
        texts = (
            row.cluster,
            f"{_LOOK.get(row.standing, row.state).symbol}  {row.health}",
            row.active or "–",
            row.last_sync.text,
            row.last_sync.result or "–",
            row.summary.removeprefix(f"{row.cluster}: "),
        )
        colour = state_colour(_LOOK.get(row.standing, row.state))
        items = []
        for column, text in enumerate(texts):
            item = QStandardItem(text)
            item.setToolTip(row.summary)
            item.setData(row.cluster, Qt.ItemDataRole.UserRole)
            # sorting by a column sorts by its text; the Health column by problem rank
            key: object = (
                position if column == 1 else text.lower() if column != 3 else row.last_sync.when
            )
            item.setData(key if key is not None else 0.0, RANK_ROLE)
            if column == 1:
                item.setForeground(colour)
            items.append(item)
        assert RANK[row.standing] >= 0
        return items

    def visible_clusters(self) -> list[str]:
        """The clusters as the table shows them now (sorted, filtered), top to bottom."""
        return [
            str(self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole))
            for r in range(self.proxy.rowCount())
        ]

    def _opened(self, index: QModelIndex) -> None:
        name = index.data(Qt.ItemDataRole.UserRole)
        if name:
            self.clusterOpened.emit(str(name))
