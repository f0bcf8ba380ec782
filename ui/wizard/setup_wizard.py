"""Cluster ▸ Setup redundancy…: a QWizard over the setup engine.

Pages: cluster and architecture → options → plan (diffs) → confirm → apply (live) → verify.
Cancel is safe on every page: before the apply nothing has changed (a running observation is
cancelled); during the apply the job is asked to stop at its next safe point, the engine rolls
back what it changed, and the apply page shows what was rolled back until the operator closes
the wizard.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget, QWizard

from pmc.inventory import Cluster
from pmc.jobs import Job
from pmc.plan import Plan
from pmc.setup import jobs as setup_jobs
from pmc.setup.apply import ApplyReport
from pmc.setup.verify import VerifyReport

from ..icons import icon
from ..session import Session
from ..translation import tr
from .apply_page import ApplyPage
from .choose_page import ChoosePage
from .confirm_page import ConfirmPage
from .options_page import OptionsPage
from .plan_page import PlanPage
from .verify_page import VerifyPage

CHOOSE, OPTIONS, PLAN, CONFIRM, APPLY, VERIFY = range(6)


class SetupWizard(QWizard):
    # the page of options; the name (used by tests) shadows QWizard.options()
    options: OptionsPage  # type: ignore[assignment]

    def __init__(self, session: Session, cluster: Cluster, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("setupWizard")
        self.setWindowTitle(tr("Set up redundancy"))
        self.setWindowIcon(icon("redundancy"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.resize(860, 640)
        self.session = session
        self.choose = ChoosePage(session.inventory, cluster)
        self.options = OptionsPage()
        self.plan_page = PlanPage(session.tasks)
        self.confirm = ConfirmPage()
        self.apply_page = ApplyPage(session)
        self.verify_page = VerifyPage(session)
        for page_id, page in enumerate(
            (
                self.choose,
                self.options,
                self.plan_page,
                self.confirm,
                self.apply_page,
                self.verify_page,
            )
        ):
            self.setPage(page_id, page)
        self.plan_page.make_plan = self._make_plan
        self.plan_page.planned.connect(self._planned)
        self.apply_page.make_job = self._apply_job
        self.verify_page.make_job = self._verify_job
        self.apply_page.applyFinished.connect(self._apply_finished)
        self.currentIdChanged.connect(self._page_changed)

    # what the pages need -------------------------------------------------------------------
    @property
    def cluster(self) -> Cluster:
        return self.choose.cluster

    @property
    def architecture(self):  # type: ignore[no-untyped-def]
        return self.options.architecture(self.choose.architecture)

    @property
    def plan(self) -> Plan | None:
        return self.plan_page.plan

    async def _make_plan(self) -> Plan:
        return await setup_jobs.plan_setup(
            self.session.workspace, self.cluster, self.architecture, self.options.options()
        )

    def _planned(self, plan: Plan) -> None:
        self.confirm.show_plan(plan, self.cluster.name)

    def _apply_job(self) -> Job[ApplyReport]:
        assert self.plan is not None
        return setup_jobs.apply_job(self.session.workspace, self.cluster, self.plan)

    def _verify_job(self) -> Job[VerifyReport]:
        return setup_jobs.verify_job(self.session.workspace, self.cluster, self.architecture)

    def _page_changed(self, page_id: int) -> None:
        if page_id == OPTIONS:
            self.options.show_for(self.choose.architecture)

    def nextId(self) -> int:
        current = self.currentId()
        if current == PLAN and self.plan is not None and self.plan.is_empty:
            return VERIFY  # nothing to change: straight to the checks
        return super().nextId()

    # safe cancel ---------------------------------------------------------------------------
    def reject(self) -> None:
        """Cancel: before the apply nothing has changed and the wizard closes; during the apply
        the job stops at its next safe point, rolls back, and the wizard stays open on the
        apply page to show what was rolled back (Close then closes it)."""
        self.plan_page.cancel()
        if self.apply_page.running:
            self.apply_page.cancel()
            return
        super().reject()

    def _apply_finished(self, succeeded: bool) -> None:
        if succeeded:  # nothing left to cancel: Next verifies, Finish closes
            self.setOption(QWizard.WizardOption.NoCancelButton, True)
        else:  # nothing more to do here but read the outcome
            self.setButtonText(QWizard.WizardButton.CancelButton, tr("&Close"))
