"""Wizard page 3: the plan, as readable diffs per server and per step, with the reason of
each step and what needs no change. Observing and planning run on the loop while the page
shows a busy bar; the operator can go back or cancel meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from pmc.errors import PmcError
from pmc.plan import Plan, Step, StepKind

from ..icons import icon
from ..tasks import Tasks
from ..translation import count, tr
from ..widgets import busy_bar, wrapped_label
from ..wrap_delegate import WrappingDelegate
from .diff_view import DiffView

STEP_ROLE = Qt.ItemDataRole.UserRole


def describe_step(step: Step) -> str:
    """What the diff pane shows for ``step``: its reason, then the diff or the command."""
    head = f"# {step.title}\n# why: {step.reason}\n"
    head += "".join(f"# effective: {e}\n" for e in step.effective)
    if step.kind is StepKind.CHECK:
        assert step.probe is not None
        wanted = " or ".join(step.probe.wanted)
        return head + f"# asks {step.probe.daemon} for {step.probe.name}: {wanted}\n"
    if step.kind is StepKind.RUN:
        body = f"$ {step.command_text()}\n"
        if step.undo:
            body += "# undone on rollback by:\n" + "".join(
                f"#   {' '.join(a)}\n" for a in step.undo
            )
        return head + body + step.diff()
    if step.kind is StepKind.RESTART:
        body = f"$ systemctl restart {step.service}\n# then: the service must be active"
        if step.expect_log:
            body += f" and {step.log_path} must show:\n" + "".join(
                f"#   {line}\n" for line in step.expect_log
            )
        return head + body + "\n"
    return head + "\n" + step.diff()


class PlanPage(QWizardPage):
    planned = Signal(object)  # Plan

    def __init__(self, tasks: Tasks) -> None:
        super().__init__()
        self.setObjectName("planPage")
        self.setTitle(tr("Plan"))
        self.setSubTitle(
            tr("Every change PMC would make, server by server. Nothing has changed yet.")
        )
        self.tasks = tasks
        self.plan: Plan | None = None
        self.error: str | None = None
        self.make_plan: Callable[[], Awaitable[Plan]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.busy = busy_bar()
        self.state = wrapped_label("planState")
        self.tree = QTreeWidget()
        self.tree.setObjectName("planTree")
        self.tree.setHeaderLabels([tr("Server / step"), tr("Why")])
        self.tree.setColumnWidth(0, 300)
        # the reason of a step is a sentence: wrapped in its column, never cut
        self.tree.header().setStretchLastSection(True)
        self.wrapping = WrappingDelegate(self.tree, (1,))
        self.diff = DiffView()
        self.diff.setObjectName("planDiff")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.diff)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 260])
        layout = QVBoxLayout(self)
        layout.addWidget(self.state)
        layout.addWidget(self.busy)
        layout.addWidget(splitter, 1)
        self.tree.currentItemChanged.connect(self._show_step)

    def initializePage(self) -> None:
        self.plan = None
        self.error = None
        self.tree.clear()
        self.diff.clear()
        self.busy.setVisible(True)
        self.state.setText(tr("Reading the files, services, firewall and keys of every server…"))
        if self.make_plan is not None:
            self._task = self.tasks.spawn(self._run(self.make_plan), what="planning")
        self.completeChanged.emit()

    def cleanupPage(self) -> None:
        self.cancel()

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _run(self, make: Callable[[], Awaitable[Plan]]) -> None:
        try:
            plan = await make()
        except PmcError as exc:
            self.error = str(exc)
            self.busy.setVisible(False)
            self.state.setText(tr("<b>PMC cannot plan this setup.</b><br>{exc}").format(exc=exc))
            self.completeChanged.emit()
            return
        self.show_plan(plan)

    def show_plan(self, plan: Plan) -> None:
        self.plan = plan
        self.busy.setVisible(False)
        self.tree.clear()
        servers: dict[str, QTreeWidgetItem] = {}
        for step in plan.steps:
            parent = servers.get(step.server)
            if parent is None:
                parent = QTreeWidgetItem([step.server, ""])
                parent.setIcon(0, icon("server"))
                servers[step.server] = parent
                self.tree.addTopLevelItem(parent)
            item = QTreeWidgetItem([step.title, step.reason])
            item.setToolTip(1, step.reason)
            item.setData(0, STEP_ROLE, step)
            parent.addChild(item)
        if plan.unchanged:
            same = QTreeWidgetItem([tr("Already right"), count(len(plan.unchanged), "item")])
            same.setIcon(0, icon("verify"))
            for nochange in plan.unchanged:
                child = QTreeWidgetItem(
                    [
                        f"[{nochange.server}] {nochange.subject}",
                        tr("no change because {reason}").format(reason=nochange.reason),
                    ]
                )
                child.setToolTip(1, nochange.reason)
                same.addChild(child)
            self.tree.addTopLevelItem(same)
        self.tree.expandAll()
        if plan.is_empty:
            self.state.setText(tr("<b>Nothing to change:</b> every server is already set up."))
        else:
            notes = "".join(f"<br>⚠ {n}" for n in plan.notes)
            self.state.setText(
                tr("<b>{steps}</b> on {servers}. Select a step to see its diff.{notes}").format(
                    steps=count(len(plan.steps), "step"),
                    servers=", ".join(plan.servers),
                    notes=notes,
                )
            )
        first = self.tree.topLevelItem(0)
        first_step = first.child(0) if first is not None and first.childCount() else None
        if first_step is not None:
            self.tree.setCurrentItem(first_step)
        self.planned.emit(plan)
        self.completeChanged.emit()

    def _show_step(self, item: QTreeWidgetItem | None) -> None:
        step = item.data(0, STEP_ROLE) if item is not None else None
        if isinstance(step, Step):
            self.diff.setPlainText(describe_step(step))
        else:
            self.diff.clear()

    def isComplete(self) -> bool:
        return self.plan is not None
