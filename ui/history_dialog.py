"""Cluster ▸ History: what PMC did to the cluster's servers, from this desktop and every
other (each server's audit log merged with this desktop's history), newest first; each
job's changes (files with their hashes, tables, the active server) under it.

Glue only: the history is :func:`pmc.history.cluster_history`, the same ``pmc history``
prints."""

from __future__ import annotations

import shiboken6
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pmc.history import ClusterHistory, change_count, cluster_history

from .icons import icon
from .session import Session
from .translation import count, tr, when
from .widgets import wrapped_label

COLUMNS = ("Time", "By", "Job", "Result", "Servers", "Changes")


class HistoryDialog(QDialog):
    def __init__(self, session: Session, cluster: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyDialog")
        self.setWindowTitle(tr("History of {cluster}").format(cluster=cluster))
        self.resize(980, 520)
        self.session = session
        self.cluster = cluster
        self.table = QTreeWidget()
        self.table.setObjectName("historyTable")
        self.table.setAccessibleName(tr("Jobs on the cluster's servers"))
        self.table.setHeaderLabels([tr(column) for column in COLUMNS])
        self.state = wrapped_label("historyState", tr("Reading the servers' audit logs…"))
        self.refresh_button = QPushButton(icon("refresh"), tr("Refresh"))
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
            if shiboken6.isValid(self):  # closed meanwhile: nothing left to say it in
                self.state.setText(tr("The history could not be read: {error}").format(error=exc))
                self.refresh_button.setEnabled(True)
            return
        if shiboken6.isValid(self):
            self.refresh_button.setEnabled(True)
            self.show_history(found)

    def show_history(self, history: ClusterHistory) -> None:
        self.loaded = history
        self.table.clear()
        for entry in history.entries:
            servers = ", ".join(entry.servers) or "-"
            row = QTreeWidgetItem(
                [
                    when(entry.time),
                    entry.by,
                    entry.title,
                    entry.result,
                    servers,
                    change_count(entry),
                ]
            )
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
        text = tr("{jobs} recorded for {cluster}.").format(
            jobs=count(len(history.entries), "job"), cluster=history.cluster
        )
        if unread:
            text += " " + tr("Not read: {servers}").format(servers=unread)
        self.state.setText(text)
