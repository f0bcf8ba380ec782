"""The sync panel's answer to a refused sync: the target holds changes made since the last
sync, which this sync would discard (:mod:`pmc.sync.newer_changes`). The prompt says so in
PMC's own words and offers the two ways on: synchronize the other way first, or discard them
— only once the checkbox that names them is ticked.

Part of the panel, not a modal dialog; :attr:`SyncRefusal.chosen` carries the request the
operator picked (the panel submits it).
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout

from pmc.sync.newer_changes import TargetChanges
from pmc.sync.runner import SyncRequest

from .translation import tr
from .widgets import PanelPrompt, button, wrapped_label


class SyncRefusal(PanelPrompt):
    chosen = Signal(object)  # the SyncRequest to submit

    def __init__(self, refused: SyncRequest, changes: TargetChanges) -> None:
        super().__init__("syncRefusalPrompt")
        self.refused, self.changes = refused, changes
        source, target = changes.source, changes.target
        self.text = wrapped_label("syncRefusal", f"{changes}.")
        self.discard = QCheckBox(
            tr("Discard the {changes} changed on {target}").format(
                changes=changes.what, target=target
            )
        )
        self.discard.setObjectName("discardTargetChanges")
        self.overwrite = button(
            "sync",
            tr("Synchronize from {source}").format(source=source),
            name="syncDiscarding",
            tip=tr("Overwrite {target} with {source}, discarding what is ticked").format(
                target=target, source=source
            ),
            clicked=lambda: self._choose(source, discard=True),
        )
        self.overwrite.setEnabled(False)
        self.other_way = button(
            "sync",
            tr("Synchronize from {target} first").format(target=target),
            name="syncOtherWay",
            tip=tr("Copy {target}'s changes to {source}; nothing is discarded").format(
                target=target, source=source
            ),
            clicked=lambda: self._choose(target, discard=False),
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.discard)
        buttons.addStretch(1)
        buttons.addWidget(self.other_way)
        buttons.addWidget(self.overwrite)
        self.lay_out(self.text, buttons)
        self.discard.toggled.connect(self.overwrite.setEnabled)

    def _choose(self, source: str, *, discard: bool) -> None:
        request = dataclasses.replace(
            self.refused, primary=source, discard_target_changes=discard, reason="operator"
        )
        self.chosen.emit(request)
        self.hide()
        self.deleteLater()
