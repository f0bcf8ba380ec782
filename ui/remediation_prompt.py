"""A remediation prompt inside the sync panel: copy config failed in a way PMC knows, here is
what it found and the plan that fixes it — apply and retry, or not.

The prompt is part of the panel, not a modal dialog: the rest of the window (and other
clusters' syncs) keeps working while it waits, and no event loop is nested (PITFALLS: never
``exec()`` inside a coroutine). :meth:`RemediationPrompt.answer` is what the runner awaits.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from pmc.sync.copy_config import Remediation

from .translation import tr
from .widgets import PanelPrompt, button, log_view, wrapped_label


class RemediationPrompt(PanelPrompt):
    answered = Signal(bool)

    def __init__(self, fix: Remediation, parent: QWidget | None = None) -> None:
        super().__init__("remediationPrompt", parent)
        self.fix = fix
        cluster = fix.plan.cluster
        self.heading = wrapped_label(
            "remediationHeading",
            tr(
                "<b>Copy config on {cluster} failed:</b> {explain}. PMC can fix it, then try again."
            ).format(cluster=cluster, explain=fix.failure.explain()),
        )
        self.details = log_view("remediationDetails", "\n".join(fix.lines()))
        self.details.setMaximumHeight(150)
        self.apply_button = button(
            "verify",
            tr("Apply fix and retry"),
            name="applyFix",
            tip=tr("Run the steps shown above, then run copy config again"),
            clicked=self._apply,
        )
        self.refuse_button = button(
            "cancel",
            tr("Don't fix"),
            name="refuseFix",
            tip=tr("Leave the servers as they are; the sync fails"),
            clicked=self._refuse,
        )
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.refuse_button)
        buttons.addWidget(self.apply_button)
        self.lay_out(self.heading, self.details, buttons)

    def _apply(self) -> None:
        self.answered.emit(True)

    def _refuse(self) -> None:
        self.answered.emit(False)

    async def answer(self) -> bool:
        """Until the operator picks a button (the widget is removed afterwards)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def picked(value: bool) -> None:
            if not future.done():
                future.set_result(value)

        self.answered.connect(picked)
        try:
            return await future
        finally:
            self.answered.disconnect(picked)
            self.hide()
            self.deleteLater()
