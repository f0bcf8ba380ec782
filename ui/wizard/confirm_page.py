"""Wizard page 4: confirm. After this page the changes start (a commit page: no way back)."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QVBoxLayout, QWizard, QWizardPage

from pmc.plan import Plan

from ..translation import count, tr
from ..widgets import wrapped_label


class ConfirmPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("confirmPage")
        self.setTitle(tr("Confirm"))
        self.setSubTitle(tr("Check the summary, then apply."))
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, tr("&Apply"))
        self.summary = wrapped_label("confirmSummary")
        self.safety = wrapped_label(
            "confirmSafety",
            tr(
                "PMC first checks that no server changed since the plan was made. Every file is "
                "backed up before it is written and replaced atomically; every restarted service "
                "must come back. If a step fails, PMC restores the backups of every server, "
                "restarts its services, and tells you what it rolled back. You can cancel at any "
                "time: PMC stops at the next safe point."
            ),
        )
        self.understood = QCheckBox(tr("I have reviewed the plan; apply it now"))
        self.understood.setObjectName("understood")
        self.understood.toggled.connect(lambda _checked: self.completeChanged.emit())
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.safety)
        layout.addWidget(self.understood)
        layout.addStretch(1)

    def show_plan(self, plan: Plan, cluster: str) -> None:
        per_server: dict[str, int] = {}
        for step in plan.steps:
            per_server[step.server] = per_server.get(step.server, 0) + 1
        rows = "".join(f"<li><b>{s}</b>: {count(n, 'step')}</li>" for s, n in per_server.items())
        self.summary.setText(
            tr("Apply <b>{steps}</b> to cluster <b>{cluster}</b> ({architecture}):<ul>{rows}</ul>")
            .format(steps=count(len(plan.steps), "step"), cluster=cluster,
                    architecture=plan.architecture, rows=rows)
        )  # fmt: skip

    def isComplete(self) -> bool:
        return self.understood.isChecked()
