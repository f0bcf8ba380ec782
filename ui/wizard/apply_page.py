"""Wizard page 5: apply, with live progress, the time left, and the log. A failure shows the
failure screen (:class:`ui.outcome_view.OutcomeView`): "Nothing changed: both servers were
restored." (or, only when the rollback failed, "Could not restore: …"), the engine's message,
what was rolled back; cancel asks the job to stop at its next safe point."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QProgressBar,
    QVBoxLayout,
    QWizardPage,
)

from pmc.errors import PmcError
from pmc.health_model import State
from pmc.jobs import FINAL_EVENTS, EventKind, Job, JobEvent, JobState
from pmc.outcome import Outcome, after_rollback, step_failed, succeeded
from pmc.setup.apply import ApplyReport, SetupCancelled, SetupFailed

from ..health_look import colour_progress
from ..jobs_panel import format_event, time_left
from ..outcome_view import OutcomeView
from ..session import Session
from ..translation import tr
from ..widgets import button, log_view, row, wrapped_label


class ApplyPage(QWizardPage):
    applyFinished = Signal(bool)  # the apply ended: succeeded or not

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.setObjectName("applyPage")
        self.setTitle(tr("Apply"))
        self.setSubTitle(tr("PMC is changing the servers. Follow each step below."))
        self.session = session
        self.job: Job[ApplyReport] | None = None
        self.make_job: Callable[[], Job[ApplyReport]] | None = None
        self.progress = QProgressBar()
        self.progress.setObjectName("applyProgress")
        self.current = wrapped_label("applyCurrent", tr("Waiting to start…"))
        self.outcome = OutcomeView("applyOutcome")
        self.log = log_view("applyLog")
        self.cancel_button = button(
            "cancel",
            tr("Stop safely"),
            name="stopApply",
            tip=tr("Stop at the next safe point; what was done is rolled back"),
            clicked=self.cancel,
        )
        progress_row = row(self.progress, self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.current)
        layout.addLayout(progress_row)
        layout.addWidget(self.outcome)
        layout.addWidget(self.log, 1)
        session.signals.event.connect(self._on_event)
        self._steps_done = 0
        self._started = 0.0

    def initializePage(self) -> None:
        if self.job is not None or self.make_job is None:
            return
        self.log.clear()
        self._steps_done = 0
        self.job = self.make_job()
        self.progress.setRange(0, 0)
        colour_progress(self.progress, None)
        self._started = time.monotonic()
        self.session.run_job(self.job)

    def _on_event(self, event: JobEvent) -> None:
        job = self.job
        if job is None or event.job_id != job.id:
            return
        if event.kind is not EventKind.PROGRESS:
            self.log.appendPlainText(format_event(_without_rollback(event, job)))
        if event.kind is EventKind.STEP_STARTED:
            self.current.setText(tr("Now: {step}").format(step=event.message))
        elif event.kind is EventKind.PROGRESS and event.fraction is not None:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(event.fraction * 100))
            left = time_left(time.monotonic() - self._started, event.fraction)
            self.progress.setFormat(f"%p%  {left}" if left else "%p%")
        elif event.kind in (EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED):
            self._finished(job)
        self.completeChanged.emit()

    def _finished(self, job: Job[object]) -> None:
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 100)
        self.progress.setFormat("%p%")
        if job.state is JobState.SUCCEEDED:
            self.progress.setValue(100)
            colour_progress(self.progress, State.OK)
            self.current.setText(tr("All steps applied. Next: verify the cluster."))
            self.show_outcome(succeeded(tr("{result}.").format(result=job.result)))
            self.applyFinished.emit(True)
            return
        outcome = apply_outcome(job)
        colour_progress(self.progress, State.WARNING if outcome.restored else State.FAILED)
        cancelled = job.state is JobState.CANCELLED
        self.current.setText(tr("The setup was cancelled.") if cancelled
                             else tr("The setup failed."))  # fmt: skip
        self.show_outcome(outcome)
        self.applyFinished.emit(False)

    def show_outcome(self, outcome: Outcome) -> None:
        self.outcome.show_outcome(outcome)

    def cancel(self) -> None:
        if self.job is not None and not self.job.state.is_final:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.current.setText(
                tr("Stopping at the next safe point, then rolling back what was changed…")
            )

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.state.is_final

    @property
    def succeeded(self) -> bool:
        return self.job is not None and self.job.state is JobState.SUCCEEDED

    def isComplete(self) -> bool:
        return self.succeeded


def _without_rollback(event: JobEvent, job: Job[object]) -> JobEvent:
    """The job's last line without the rollback summary it repeats (the executor logged it
    the line before, and the failure screen lists it)."""
    error = job.error
    rollback = isinstance(error, SetupFailed | SetupCancelled)
    if event.kind not in FINAL_EVENTS or not rollback or not isinstance(error, PmcError):
        return event
    said = f"{error.where}: {error.what}" if error.where else error.what
    return dataclasses.replace(event, message=said)


def apply_outcome(job: Job[object]) -> Outcome:
    """The failure screen of an apply that failed or was cancelled."""
    error = job.error
    cancelled = job.state is JobState.CANCELLED
    if isinstance(error, SetupFailed):
        report = error.report
        cause = (
            step_failed(report.failed_step, report.error or error.what)
            if report.failed_step
            else error.what
        )
        return after_rollback(cause, report.rolled_back, report.rollback_problems)
    if isinstance(error, SetupCancelled):  # its report says what was rolled back
        report = error.report
        return after_rollback(
            error.what, report.rolled_back, report.rollback_problems, cancelled=True
        )
    return after_rollback(str(error) if error else tr("cancelled"), [], [], cancelled=cancelled)
