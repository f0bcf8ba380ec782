"""The session's sync runner (:func:`make_runner`) and how a finished sync is said
(:func:`sync_outcome`), the same in the sync panel, the status bar and the tray; a failed
sync's failure screen (:func:`failure_outcome`) and a schedule in words
(:func:`schedule_words`)."""

from __future__ import annotations

import contextlib

from PySide6.QtWidgets import QMessageBox, QWidget

from pmc.errors import PmcError
from pmc.jobs import EventKind, Job
from pmc.outcome import Outcome
from pmc.sync.copy_config import Remediation
from pmc.sync.delta_engine import pair
from pmc.sync.runner import Schedule, SyncRequest, SyncRunner

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


def failure_outcome(
    session: Session, job: Job[object], request: SyncRequest | None, message: str
) -> Outcome:
    """The failure screen of a failed sync: what it left undone, between which servers."""
    banner = tr("Not synchronized.")
    cluster = session.cluster(job.cluster or "")
    if "(playout)" in job.title:
        banner = tr("Copy config failed and set the replication status to stopped.")
    elif cluster is not None:
        with contextlib.suppress(PmcError):  # no main and backup: the cause says so
            source, target = pair(cluster, request.primary if request else None)
            banner = tr("Not synchronized: {target} was not brought in line with {source}.")
            banner = banner.format(target=target.name, source=source.name)
    hint = tr("Read the log above; Synchronize all servers tries again.")
    return Outcome(False, banner, f"{message.strip()}\n{hint}")


def schedule_words(schedule: Schedule | None, *, saving: bool = False) -> str:
    """A cluster's sync schedule as the sync panel says it ("every 30 min", "off")."""
    parts = []
    if schedule is not None and schedule.every_minutes:
        parts.append(tr("every {minutes} min").format(minutes=f"{schedule.every_minutes:g}"))
    if schedule is not None and schedule.on_drift:
        parts.append(
            tr("on drift (checked every {minutes} min)").format(
                minutes=f"{schedule.check_minutes:g}"
            )
        )
    text = "; ".join(parts) or tr("off")
    return tr("{schedule} (saving…)").format(schedule=text) if saving else text


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

    runner.on_job(lambda job, _request: session.track(job))
    return runner
