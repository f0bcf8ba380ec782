"""The tray icon while PMC runs: the watched cluster's health (its icon badge and tooltip,
from :mod:`pmc.health`), the last synchronization's result, a notification when a sync fails
or a server or link changes state (at most one every :data:`ALERT_INTERVAL_S` seconds, the
changes meanwhile gathered into it), and a menu (Show PMC, Synchronize all servers, Quit).

Where the desktop has no system tray (offscreen, a bare Xvfb, some Wayland shells)
:func:`tray_available` is False: the menu and the last result are still kept (the main window
shows failures in its status bar instead), but nothing can live in the tray, so closing the
window quits as usual.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from pmc.alerts import AlertPacer, Change, changes, notification
from pmc.health_model import ClusterHealth, State
from pmc.jobs import EventKind, Job, JobEvent

from .health_look import badged
from .icons import app_icon, icon
from .session import Session
from .sync_runner import sync_outcome
from .translation import clock, tr

FINAL = (EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED)
ALERT_INTERVAL_S = 60.0


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class SyncTray(QObject):
    """Follows the session's sync jobs; emits what the operator picks in the tray menu."""

    showRequested = Signal()
    syncRequested = Signal()
    quitRequested = Signal()
    resultChanged = Signal(str)  # the last result as one line
    notified = Signal(str, str)  # title, message (also shown when there is no tray)

    def __init__(
        self, session: Session, window: QWidget, clock_s: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(window)
        self.session = session
        self.last_result = tr("No synchronization yet")
        self.last_failed = False
        self.health: ClusterHealth | None = None
        self.pacer = AlertPacer(ALERT_INTERVAL_S)
        self.clock = clock_s
        self._alert_timer = QTimer(self)
        self._alert_timer.setSingleShot(True)
        self._alert_timer.timeout.connect(self._send_alerts)
        self._sync_jobs: dict[str, Job[object]] = {}
        self.menu = QMenu(window)
        self.menu.setObjectName("trayMenu")
        self.result_action = QAction(icon("sync"), self.last_result, self.menu)
        self.result_action.setEnabled(False)
        self.health_action = QAction(icon("cluster"), tr("No cluster watched"), self.menu)
        self.health_action.setEnabled(False)
        self.show_action = QAction(icon("about"), tr("&Show PMC"), self.menu)
        self.sync_action = QAction(icon("sync"), tr("S&ynchronize all servers"), self.menu)
        self.quit_action = QAction(icon("quit"), tr("&Quit PMC"), self.menu)
        self.quit_action.setToolTip(tr("Cancel running synchronizations and schedules, then quit"))
        self.menu.addAction(self.health_action)
        self.menu.addAction(self.result_action)
        self.menu.addSeparator()
        self.menu.addActions([self.show_action, self.sync_action])
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.show_action.triggered.connect(self.showRequested)
        self.sync_action.triggered.connect(self.syncRequested)
        self.quit_action.triggered.connect(self.quitRequested)
        self.icon: QSystemTrayIcon | None = None
        if tray_available():
            self.icon = QSystemTrayIcon(app_icon(), self)
            self.icon.setContextMenu(self.menu)
            self.icon.activated.connect(self._activated)
            self._update_tooltip()
            self.icon.show()
        session.signals.attached.connect(self._attached)
        session.signals.event.connect(self._event)

    @property
    def available(self) -> bool:
        return self.icon is not None

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.showRequested.emit()

    def _attached(self, job: Job[object]) -> None:
        if job.kind == "sync":
            self._sync_jobs[job.id] = job
            self.set_result(
                tr("{cluster}: synchronizing…").format(cluster=job.cluster or ""), failed=False
            )

    def set_result(self, text: str, *, failed: bool) -> None:
        """What the last (or running) synchronization says, stamped with the time."""
        self.last_failed = failed
        self.last_result = f"{clock(time.time())} {text}"
        self.result_action.setText(self.last_result)
        self._update_tooltip()
        self.resultChanged.emit(self.last_result)

    # health ------------------------------------------------------------------------------
    def apply_health(self, health: ClusterHealth) -> None:
        """Show ``health`` and notify what changed since the last one (rate-limited)."""
        found = changes(self.health, health)
        self.health = health
        self.health_action.setText(health.summary)
        if self.icon is not None:
            state = health.overall if health.checked else None
            self.icon.setIcon(badged("pmc", state))
        self._update_tooltip()
        if found:
            self.pacer.add(found)
            self._send_alerts()

    def alert(self, found: list[Change]) -> None:
        """Notify changes of health found elsewhere (the fleet view's clusters), paced as
        the watched cluster's."""
        if found:
            self.pacer.add(found)
            self._send_alerts()

    def _send_alerts(self) -> None:
        due = self.pacer.due(self.clock())
        if due:
            title, message = notification(due)
            critical = any(c.after is State.FAILED for c in due)
            self.notify(title, message, critical=critical)
        if self.pacer.waiting and not self._alert_timer.isActive():
            wait = ALERT_INTERVAL_S - (self.clock() - (self.pacer.last_sent or 0.0))
            self._alert_timer.start(int(max(1.0, wait) * 1000))

    def _event(self, event: JobEvent) -> None:
        if event.kind not in FINAL:
            return
        job = self._sync_jobs.pop(event.job_id, None)
        if job is None:
            return
        cluster = job.cluster or ""
        words = sync_outcome(event.kind, event.message)
        self.set_result(f"{cluster}: {words}", failed=event.kind is EventKind.FAILED)
        if event.kind is EventKind.FAILED:
            self.notify(
                tr("Synchronization of {cluster} failed").format(cluster=cluster),
                event.message or tr("See the sync panel for the log."),
                critical=True,
            )

    def notify(self, title: str, message: str, *, critical: bool = False) -> None:
        """A desktop notification from the tray (where there is one)."""
        self.notified.emit(title, message)
        if self.icon is not None:
            kind = (
                QSystemTrayIcon.MessageIcon.Critical
                if critical
                else QSystemTrayIcon.MessageIcon.Information
            )
            self.icon.showMessage(title, message[:300], kind, 15000)

    def tooltip(self) -> str:
        lines = [tr("Playout Management Console")]
        if self.health is not None:
            lines.append(self.health.summary)
        lines.append(self.last_result)
        return "\n".join(lines)

    def _update_tooltip(self) -> None:
        if self.icon is not None:
            self.icon.setToolTip(self.tooltip())

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()
