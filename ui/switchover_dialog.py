"""Cluster ▸ Switch over…: make the other server the cluster's active one. The dialog plans
first (what changes where, the servers that cannot be reached), then applies the plan as a
job (the jobs panel shows it too) and says how it ended.

Glue only: the plan and the job are :mod:`pmc.switchover`'s, the same the CLI runs."""

from __future__ import annotations

import shiboken6
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pmc.inventory import Cluster
from pmc.jobs import Job, JobState
from pmc.switchover import SwitchoverPlan, SwitchoverResult, plan_switchover, switchover_job

from .icons import icon
from .session import Session
from .translation import tr
from .widgets import log_view, wrapped_label


class SwitchoverDialog(QDialog):
    def __init__(self, session: Session, cluster: Cluster, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("switchoverDialog")
        self.setWindowTitle(tr("Switch over {cluster}").format(cluster=cluster.name))
        self.resize(760, 460)
        self.session = session
        self.cluster = cluster
        self.plan: SwitchoverPlan | None = None
        self.job: Job[SwitchoverResult] | None = None
        active = cluster.active_server
        self.target = QComboBox()
        self.target.setObjectName("switchoverTarget")
        for server in (cluster.main, cluster.backup):
            if server is not None and server is not active:
                self.target.addItem(server.name, server.name)
        self.details = log_view("switchoverPlan")
        self.details.setAccessibleName(tr("What the switchover changes, server by server"))
        self.outcome = wrapped_label("switchoverResult")
        self.apply_button = QPushButton(icon("redundancy"), tr("Switch over"))
        self.apply_button.setObjectName("switchoverApply")
        self.apply_button.setEnabled(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.apply_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(tr("Active now:"), QLabel(active.name if active else "-"))
        form.addRow(tr("Make active:"), self.target)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.details, 1)
        layout.addWidget(self.outcome)
        layout.addWidget(buttons)
        self.target.currentIndexChanged.connect(lambda *_: self.make_plan())
        self.apply_button.clicked.connect(self.apply)
        self.make_plan()

    def make_plan(self) -> None:
        to = self.target.currentData()
        self.plan = None
        self.apply_button.setEnabled(False)
        if not to:
            self.details.setPlainText(
                tr("Cluster {cluster} has no other main or backup.").format(
                    cluster=self.cluster.name
                )
            )
            return
        self.details.setPlainText(tr("Planning the switchover to {server}…").format(server=to))
        self.session.tasks.spawn(self._plan(str(to)), what="planning a switchover")

    async def _plan(self, to: str) -> None:
        conns = self.session.workspace.connections(self.cluster)
        try:
            plan = await plan_switchover(self.cluster, to, conns)
        except Exception as exc:
            if not shiboken6.isValid(self):
                return  # closed meanwhile
            self.details.setPlainText(
                tr("No switchover to {server}: {error}").format(server=to, error=exc)
            )
            return
        if not shiboken6.isValid(self) or to != self.target.currentData():
            return  # closed, or the operator picked another server meanwhile
        self.plan = plan
        self.details.setPlainText("\n".join(plan.lines()))
        self.apply_button.setEnabled(True)

    def apply(self) -> None:
        if self.plan is None:
            return
        self.apply_button.setEnabled(False)
        self.target.setEnabled(False)
        self.job = switchover_job(self.session.workspace, self.plan)
        task = self.session.run_job(self.job)
        self.outcome.setText(f"▶ {self.job.title}…")
        task.add_done_callback(lambda _task: self._ended())

    def _ended(self) -> None:
        job = self.job
        assert job is not None
        self.session.load()  # the inventory's new active server, everywhere in the window
        if not shiboken6.isValid(self):
            return  # closed while the job ran: the jobs panel says how it ended
        if job.state is JobState.SUCCEEDED:
            self.outcome.setText(f"✔ {job.result}")
        else:
            self.outcome.setText(f"✖ {job.error}")
