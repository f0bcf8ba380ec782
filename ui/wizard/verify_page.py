"""Wizard page 6: the verify report — the manual's checks, each passed or failed with the
fix to try."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from pmc.jobs import EventKind, Job, JobEvent, JobState
from pmc.setup.jobs import VerifyFailed
from pmc.setup.verify import VerifyReport

from ..icons import icon
from ..session import Session
from ..translation import count, tr
from ..widgets import busy_bar, wrapped_label


class VerifyPage(QWizardPage):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self.setObjectName("verifyPage")
        self.setTitle(tr("Verify"))
        self.setSubTitle(tr("PMC runs the manual's checks on every server."))
        self.session = session
        self.make_job: Callable[[], Job[VerifyReport]] | None = None
        self.job: Job[VerifyReport] | None = None
        self.report: VerifyReport | None = None
        self.busy = busy_bar()
        self.verdict = wrapped_label("verifyVerdict", tr("Checking…"))
        self.checks = QTreeWidget()
        self.checks.setObjectName("verifyChecks")
        self.checks.setRootIsDecorated(False)
        self.checks.setHeaderLabels([tr("Check"), tr("Server"), tr("Result")])
        self.checks.setColumnWidth(0, 280)
        layout = QVBoxLayout(self)
        layout.addWidget(self.verdict)
        layout.addWidget(self.busy)
        layout.addWidget(self.checks, 1)
        session.signals.event.connect(self._on_event)

    def initializePage(self) -> None:
        if self.make_job is None:
            return
        self.checks.clear()
        self.report = None
        self.busy.setVisible(True)
        self.verdict.setText(tr("Checking…"))
        self.job = self.make_job()
        self.session.run_job(self.job)
        self.completeChanged.emit()

    def _on_event(self, event: JobEvent) -> None:
        job = self.job
        if job is None or event.job_id != job.id:
            return
        if event.kind not in (EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED):
            return
        self.busy.setVisible(False)
        report = job.result if job.state is JobState.SUCCEEDED else None
        if isinstance(job.error, VerifyFailed):
            report = job.error.report
        if report is None:
            self.verdict.setText(tr("<b>Verify could not run:</b> {error}").format(error=job.error))
            self.completeChanged.emit()
            return
        self.show_report(report)

    def show_report(self, report: VerifyReport) -> None:
        self.report = report
        for check in report.checks:
            item = QTreeWidgetItem([check.name, check.server, check.detail])
            item.setIcon(0, icon("verify" if check.ok else "warning"))
            tip = check.detail + (f"\nFix: {check.fix}" if check.fix and not check.ok else "")
            item.setToolTip(2, tip)
            self.checks.addTopLevelItem(item)
        if report.ok:
            self.verdict.setText(
                tr(
                    "<b style='color:#2e9e4f'>✔ Verify passed:</b> all {checks} pass on {cluster}."
                ).format(checks=count(len(report.checks), "check"), cluster=report.cluster)
            )
        else:
            self.verdict.setText(
                tr(
                    "<b style='color:#d62d20'>✖ {failed} of {checks} fail.</b> Hover a result "
                    "for what to do."
                ).format(failed=len(report.failed), checks=count(len(report.checks), "check"))
            )
        self.completeChanged.emit()

    @property
    def passed(self) -> bool:
        return self.report is not None and self.report.ok

    def isComplete(self) -> bool:
        return self.report is not None
