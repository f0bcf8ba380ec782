"""The sync panel: "Synchronize all servers" for the selected cluster, its live progress and
log, the drift report, the remediation prompts and the sync history.

The work is :class:`pmc.sync.runner.SyncRunner`'s; this panel only starts requests, renders
the job events it receives through the session's JobSignals, and answers the runner's
remediation questions with a window-modal dialog (never a nested event loop).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pmc.jobs import EventKind, Job, JobEvent
from pmc.sync.copy_config import Remediation
from pmc.sync.drift import DriftReport
from pmc.sync.runner import Engine, SyncRequest, SyncRunner
from ui.async_dialog import ask
from ui.session import Session

FINAL = (EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED)


def make_runner(session: Session, parent: QWidget | None = None) -> SyncRunner:
    """The session's sync runner: its jobs show in the jobs panel, fixes are asked in a dialog."""
    assert session.pool is not None

    def find(name: str) -> Any:
        return session.inventory.cluster(name)

    async def confirm(fix: Remediation) -> bool:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Copy config failed",
            "\n".join(fix.lines()[:40]) + "\n\nApply this fix and try again?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            parent,
        )
        box.setObjectName("syncRemediation")
        return await ask(box) == QMessageBox.StandardButton.Yes

    runner = SyncRunner(find, session.pool, store=session.store, confirm=confirm)

    def attach(job: Job[object], _request: SyncRequest) -> None:
        session.jobs.append(job)
        session.signals.attach(job)
        session.jobStarted.emit(job)

    runner.on_job(attach)
    return runner


class SyncPanel(QWidget):
    def __init__(self, session: Session, runner: SyncRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncPanel")
        self.session = session
        self.runner = runner
        self.cluster: str | None = None
        self.job: Job[object] | None = None
        self.title = QLabel("No cluster selected")
        self.engine = QComboBox()
        self.engine.setObjectName("syncEngine")
        self.engine.addItem("Delta (only what differs)", Engine.DELTA.value)
        self.engine.addItem("Playout copy config (everything)", Engine.PLAYOUT.value)
        self.dry_run = QCheckBox("Dry run")
        self.sync_button = QPushButton("Synchronize all servers")
        self.sync_button.setObjectName("syncNow")
        self.drift_button = QPushButton("Check drift")
        self.drift_button.setObjectName("checkDrift")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelSync")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("syncProgress")
        self.log = QPlainTextEdit()
        self.log.setObjectName("syncLog")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(20000)
        self.drift = QPlainTextEdit()
        self.drift.setObjectName("syncDrift")
        self.drift.setReadOnly(True)
        self.drift.setPlaceholderText("Check drift to compare main and backup (read only).")
        self.history = QTreeWidget()
        self.history.setObjectName("syncHistory")
        self.history.setHeaderLabels(["Started", "Cluster", "State", "Sync", "Result"])
        self.history.setRootIsDecorated(False)
        tabs = QTabWidget()
        tabs.addTab(self.log, "Log")
        tabs.addTab(self.drift, "Drift")
        tabs.addTab(self.history, "History")
        controls = QHBoxLayout()
        for widget in (self.engine, self.dry_run, self.sync_button, self.drift_button,
                       self.cancel_button):  # fmt: skip
            controls.addWidget(widget)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(controls)
        layout.addWidget(self.progress)
        layout.addWidget(tabs, 1)
        self.sync_button.clicked.connect(self.synchronize)
        self.drift_button.clicked.connect(self.check_drift)
        self.cancel_button.clicked.connect(self.cancel)
        session.signals.event.connect(self._event)
        self.set_cluster(None)
        self.refresh_history()

    def set_cluster(self, name: str | None) -> None:
        self.cluster = name
        self.title.setText(f"Cluster {name}" if name else "No cluster selected")
        busy = bool(name) and self.runner.running(name or "") is not None
        self.sync_button.setEnabled(bool(name))
        self.drift_button.setEnabled(bool(name))
        self.cancel_button.setEnabled(busy)

    def synchronize(self) -> Job[object] | None:
        if not self.cluster:
            return None
        request = SyncRequest(
            self.cluster, Engine(self.engine.currentData()), dry_run=self.dry_run.isChecked()
        )
        self.job = self.runner.submit(request)
        self.log.clear()
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.runner.cancel(self.job)

    def check_drift(self) -> None:
        if self.cluster:
            self.drift.setPlainText("Comparing…")
            self.session.tasks.spawn(self._drift(self.cluster), what="check drift")

    async def _drift(self, cluster: str) -> None:
        try:
            report = await self.runner.drift(cluster)
        except Exception as exc:
            self.drift.setPlainText(f"Could not compare: {exc}")
            return
        self.show_drift(report)

    def show_drift(self, report: DriftReport) -> None:
        self.drift.setPlainText("\n".join([*report.lines(), f"({report.seconds:.2f} s)"]))

    def refresh_history(self) -> None:
        self.history.clear()
        if self.session.store is None:
            return
        for rec in self.session.store.jobs(limit=200, kind="sync"):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rec.started))
            self.history.addTopLevelItem(
                QTreeWidgetItem([when, rec.cluster or "", rec.state, rec.title, rec.summary])
            )

    def _event(self, event: JobEvent) -> None:
        if self.job is None or event.job_id != self.job.id:
            return
        if event.kind is EventKind.PROGRESS and event.fraction is not None:
            self.progress.setValue(int(event.fraction * 100))
            if event.message:
                self.progress.setFormat(f"%p%  {event.message}")
        elif event.kind is not EventKind.PROGRESS:
            server = f"[{event.server}] " if event.server else ""
            self.log.appendPlainText(f"{server}{event.message}")
        if event.kind in FINAL:
            self.cancel_button.setEnabled(False)
            if event.kind is EventKind.FINISHED:
                self.progress.setValue(100)
            self.session.tasks.spawn(self._refresh_after(self.job), what="sync history")

    async def _refresh_after(self, job: Job[object]) -> None:
        with contextlib.suppress(BaseException):
            await job.wait()  # the history row is written after the final event
        self.refresh_history()
