"""Cluster ▸ History: what PMC did to the cluster's servers, from this desktop and every
other (each server's audit log merged with this desktop's history), newest first; each
job's changes (files with their hashes, tables, the active server) under it.

Glue only: the history is :func:`pmc.history.cluster_history`, the same ``pmc history``
prints."""

from __future__ import annotations

import time

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pmc.history import ClusterHistory, change_count, cluster_history

from .icons import icon
from .session import Session

COLUMNS = ("Time", "By", "Job", "Result", "Servers", "Changes")


class HistoryDialog(QDialog):
    def __init__(self, session: Session, cluster: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyDialog")
        self.setWindowTitle(f"History of {cluster}")
        self.resize(980, 520)
        self.session = session
        self.cluster = cluster
        self.table = QTreeWidget()
        self.table.setObjectName("historyTable")
        self.table.setHeaderLabels(list(COLUMNS))
        self.state = QLabel("Reading the servers' audit logs…")
        self.state.setObjectName("historyState")
        self.state.setWordWrap(True)
        self.refresh_button = QPushButton(icon("refresh"), "Refresh")
        self.refresh_button.setObjectName("historyRefresh")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.refresh_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.state)
        layout.addWidget(buttons)
        self.refresh_button.clicked.connect(self.refresh)
        self.loaded: ClusterHistory | None = None
        self.refresh()

    def refresh(self) -> None:
        self.refresh_button.setEnabled(False)
        self.session.tasks.spawn(self._load(), what=f"reading the history of {self.cluster}")

    async def _load(self) -> None:
        try:
            found = await cluster_history(self.session.workspace, self.cluster)
        except Exception as exc:
            self.state.setText(f"The history could not be read: {exc}")
            return
        finally:
            self.refresh_button.setEnabled(True)
        self.show_history(found)

    def show_history(self, history: ClusterHistory) -> None:
        self.loaded = history
        self.table.clear()
        for entry in history.entries:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.time))
            row = QTreeWidgetItem(
                [when, entry.by, entry.title, entry.result, ", ".join(entry.servers) or "-",
                 change_count(entry)]
            )  # fmt: skip
            row.setToolTip(2, entry.message or entry.title)
            lines = [entry.message] if entry.result != "succeeded" and entry.message else []
            for line in [*lines, *entry.changes]:
                child = QTreeWidgetItem(["", "", line])
                child.setFirstColumnSpanned(True)
                row.addChild(child)
            self.table.addTopLevelItem(row)
        for column in range(len(COLUMNS) - 1):
            self.table.resizeColumnToContents(column)
        unread = "; ".join(f"{server}: {why}" for server, why in history.unread)
        count = len(history.entries)
        text = f"{count} job{'s' * (count != 1)} recorded for {history.cluster}."
        self.state.setText(text + (f" Not read: {unread}" if unread else ""))
