"""Wizard page 5: apply, with live progress and log. A failure shows the engine's message and
what was rolled back; cancel asks the job to stop at its next safe point."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

from pmc.jobs import EventKind, Job, JobEvent, JobState
from pmc.setup.apply import SetupFailed
from ui.icons import icon
from ui.jobs_panel import format_event
from ui.session import Session


class ApplyPage(QWizardPage):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self.setObjectName("applyPage")
        self.setTitle("Apply")
        self.setSubTitle("PMC is changing the servers. Follow each step below.")
        self.session = session
        self.job: Job[Any] | None = None
        self.make_job: Any = None
        self.progress = QProgressBar()
        self.progress.setObjectName("applyProgress")
        self.current = QLabel("Waiting to start…")
        self.current.setObjectName("applyCurrent")
        self.current.setWordWrap(True)
        self.outcome = QLabel()
        self.outcome.setObjectName("applyOutcome")
        self.outcome.setWordWrap(True)
        self.outcome.setVisible(False)
        self.log = QPlainTextEdit()
        self.log.setObjectName("applyLog")
        self.log.setReadOnly(True)
        self.log.setProperty("role", "log")
        self.cancel_button = QPushButton(icon("cancel"), "Stop safely")
        self.cancel_button.setObjectName("stopApply")
        self.cancel_button.setToolTip("Stop at the next safe point; what was done is rolled back")
        self.cancel_button.clicked.connect(self.cancel)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.current)
        layout.addLayout(row)
        layout.addWidget(self.outcome)
        layout.addWidget(self.log, 1)
        session.signals.event.connect(self._on_event)
        self._steps_done = 0

    def initializePage(self) -> None:
        if self.job is not None or self.make_job is None:
            return
        self.log.clear()
        self._steps_done = 0
        self.job = self.make_job()
        self.progress.setRange(0, 0)
        self.session.run_job(self.job)

    def _on_event(self, event: JobEvent) -> None:
        job = self.job
        if job is None or event.job_id != job.id:
            return
        if event.kind is not EventKind.PROGRESS:
            self.log.appendPlainText(format_event(event))
        if event.kind is EventKind.STEP_STARTED:
            self.current.setText(f"Now: {event.message}")
        elif event.kind is EventKind.PROGRESS and event.fraction is not None:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(event.fraction * 100))
        elif event.kind in (EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED):
            self._finished(job)
        self.completeChanged.emit()

    def _finished(self, job: Job[Any]) -> None:
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 100)
        self.outcome.setVisible(True)
        if job.state is JobState.SUCCEEDED:
            self.progress.setValue(100)
            self.current.setText("All steps applied.")
            self.outcome.setText(f"✔ {job.result}. Next: verify the cluster.")
            self.outcome.setStyleSheet("color: #2e9e4f; font-weight: 600;")
            return
        error = job.error
        rolled = ""
        if isinstance(error, SetupFailed):
            report = error.report
            rolled = "<br><b>Rolled back:</b> " + (
                "; ".join(report.rolled_back) or "nothing had been changed yet"
            )
            if report.rollback_problems:
                rolled += "<br><b>Could NOT roll back:</b> " + "; ".join(report.rollback_problems)
        word = "cancelled" if job.state is JobState.CANCELLED else "failed"
        self.current.setText(f"The setup {word}.")
        self.outcome.setText(f"<b>✖ {error}</b>{rolled}")
        self.outcome.setStyleSheet("color: #d62d20;")

    def cancel(self) -> None:
        if self.job is not None and not self.job.state.is_final:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.current.setText("Stopping at the next safe point…")

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.state.is_final

    @property
    def succeeded(self) -> bool:
        return self.job is not None and self.job.state is JobState.SUCCEEDED

    def isComplete(self) -> bool:
        return self.succeeded
