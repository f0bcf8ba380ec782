"""The session's sync runner (:func:`make_runner`) and how a finished sync is said
(:func:`sync_outcome`), the same in the sync panel, the status bar and the tray."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from pmc.jobs import EventKind, Job
from pmc.sync.copy_config import Remediation
from pmc.sync.runner import SyncRequest, SyncRunner

from .async_dialog import ask
from .session import Session
from .translation import tr


def sync_outcome(kind: EventKind, message: str) -> str:
    """A finished sync in words, the same in the sync panel, the status bar and the tray."""
    if kind is EventKind.FINISHED:
        return tr("synchronized")
    if kind is EventKind.FAILED:
        return tr("synchronization failed: {message}").format(message=message.strip())
    return tr("synchronization cancelled")


def make_runner(session: Session, parent: QWidget | None = None) -> SyncRunner:
    """The session's sync runner: its jobs show in the jobs panel. Fixes are asked in a
    window-modal message box (``open()`` and a future, no nested loop) until a
    :class:`ui.sync_panel.SyncPanel` takes the question over with its inline prompt."""
    assert session.pool is not None

    async def confirm(fix: Remediation) -> bool:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            tr("Copy config failed"),
            "\n".join(fix.lines()[:40]) + "\n\n" + tr("Apply this fix and try again?"),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            parent,
        )
        box.setObjectName("syncRemediation")
        return await ask(box) == QMessageBox.StandardButton.Yes

    runner = SyncRunner(
        session.workspace.cluster, session.pool, store=session.store, confirm=confirm
    )

    def attach(job: Job[object], _request: SyncRequest) -> None:
        session.jobs.append(job)
        session.signals.attach(job)
        session.jobStarted.emit(job)

    runner.on_job(attach)
    return runner
