"""Wizard page 5: apply, with live progress and log. A failure shows the engine's message and
what was rolled back; cancel asks the job to stop at its next safe point."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

from pmc.errors import Cancelled
from pmc.jobs import EventKind, Job, JobEvent, JobState
from pmc.setup.apply import ApplyReport, SetupFailed

from ..icons import icon
from ..jobs_panel import format_event
from ..session import Session


class ApplyPage(QWizardPage):
    applyFinished = Signal(bool)  # the apply ended: succeeded or not

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.setObjectName("applyPage")
        self.setTitle("Apply")
        self.setSubTitle("PMC is changing the servers. Follow each step below.")
        self.session = session
        self.job: Job[ApplyReport] | None = None
        self.make_job: Callable[[], Job[ApplyReport]] | None = None
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

    def _finished(self, job: Job[object]) -> None:
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 100)
        self.outcome.setVisible(True)
        if job.state is JobState.SUCCEEDED:
            self.progress.setValue(100)
            self.current.setText("All steps applied.")
            self.outcome.setText(f"✔ {html.escape(str(job.result))}. Next: verify the cluster.")
            self.outcome.setStyleSheet("color: #2e9e4f; font-weight: 600;")
            self.applyFinished.emit(True)
            return
        error = job.error
        headline = str(error)
        rolled: list[str] = []
        problems: list[str] = []
        if isinstance(error, SetupFailed):
            rolled, problems = error.report.rolled_back, error.report.rollback_problems
        elif isinstance(error, Cancelled) and error.hint:  # the hint is the rollback summary
            headline = error.what
            rolled, problems = _rollback_of(error.hint)
        text = f"<b>✖ {html.escape(headline)}</b>"
        if isinstance(error, (SetupFailed, Cancelled)):
            text += "<br><b>Rolled back:</b> " + html.escape(
                "; ".join(rolled) or "nothing had been changed yet"
            )
            if problems:
                text += "<br><b>Could NOT roll back:</b> " + html.escape("; ".join(problems))
        cancelled = job.state is JobState.CANCELLED
        self.current.setText(
            "The setup was cancelled; the servers are as they were before it."
            if cancelled and not problems
            else f"The setup {'cancelled' if cancelled else 'failed'}."
        )
        self.outcome.setText(text)
        self.outcome.setStyleSheet("color: #d62d20;")
        self.applyFinished.emit(False)

    def cancel(self) -> None:
        if self.job is not None and not self.job.state.is_final:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.current.setText(
                "Stopping at the next safe point, then rolling back what was changed…"
            )

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.state.is_final

    @property
    def succeeded(self) -> bool:
        return self.job is not None and self.job.state is JobState.SUCCEEDED

    def isComplete(self) -> bool:
        return self.succeeded


def _rollback_of(summary: str) -> tuple[list[str], list[str]]:
    """The undone actions and the problems in an :class:`ApplyReport` rollback summary
    ("Rolled back: a; b. COULD NOT roll back: c." or "Nothing had been changed yet.")."""
    done, _, failed = summary.partition(" COULD NOT roll back: ")
    rolled = done.removeprefix("Rolled back: ").rstrip(".") if done.startswith("Rolled") else ""
    return (
        [part for part in rolled.split("; ") if part],
        [part for part in failed.rstrip(".").split("; ") if part],
    )
