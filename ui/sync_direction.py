"""Which server a sync copies from, shown in the sync panel: the cluster's active server (the
main, until a switchover) unless the operator picks the other one; "main → backup" beside it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from pmc.inventory import Cluster

from .translation import tr


class SyncDirection(QWidget):
    """The source chooser; :attr:`changed` when the direction changes."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = QComboBox()
        self.source.setObjectName("syncFrom")
        # its items come after the first show: sized to them each time ("main (active)" whole)
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.source.setToolTip(
            tr(
                "The server a sync copies from: the cluster's active server, unless you pick"
                " the other one"
            )
        )
        self.arrow = QLabel("")
        self.arrow.setObjectName("syncDirection")
        self._shown: tuple[str, str | None] | None = None  # (cluster, active) shown
        self._pair: tuple[str, str] | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(tr("From:"))
        label.setBuddy(self.source)
        layout.addWidget(label)
        layout.addWidget(self.source)
        layout.addWidget(self.arrow)
        self.source.currentIndexChanged.connect(self._picked)

    def show_cluster(self, cluster: Cluster | None) -> None:
        """The cluster's main and backup, its active server chosen (an operator's pick is
        kept while the cluster and its active server stay the same)."""
        main = cluster.main if cluster is not None else None
        backup = cluster.backup if cluster is not None else None
        active = cluster.active_server if cluster is not None else None
        key = (cluster.name, active.name if active else None) if cluster is not None else None
        if key == self._shown and main is not None and backup is not None:
            return
        self._shown = key
        self.source.blockSignals(True)
        self.source.clear()
        self._pair = (main.name, backup.name) if main and backup else None
        if self._pair is not None and active is not None:
            for name in self._pair:
                shown = tr("{server} (active)").format(server=name) if name == active.name else name
                self.source.addItem(shown, name)
            self.source.setCurrentIndex(self.source.findData(active.name))
        self.source.blockSignals(False)
        self.source.setEnabled(self._pair is not None)
        self._picked()

    def chosen(self) -> str | None:
        """The server to copy from (None: the cluster has no main and backup)."""
        data = self.source.currentData()
        return str(data) if data else None

    def target(self) -> str | None:
        source = self.chosen()
        if self._pair is None or source is None:
            return None
        return self._pair[1] if source == self._pair[0] else self._pair[0]

    def _picked(self, *_: object) -> None:
        source, target = self.chosen(), self.target()
        self.arrow.setText(f"{source} → {target}" if source and target else "")
        self.changed.emit()
