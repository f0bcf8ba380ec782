"""The tray icon while PMC runs: the last synchronisation's result, a notification when one
fails, and a menu (Show PMC, Synchronize all servers, Quit).

Where the desktop has no system tray (offscreen, a bare Xvfb, some Wayland shells)
:func:`tray_available` is False: the menu and the last result are still kept (the main window
shows failures in its status bar instead), but nothing can live in the tray, so closing the
window quits as usual.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from pmc.jobs import EventKind, Job, JobEvent

from .icons import app_icon, icon
from .session import Session

FINAL = (EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED)


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class SyncTray(QObject):
    """Follows the session's sync jobs; emits what the operator picks in the tray menu."""

    showRequested = Signal()
    syncRequested = Signal()
    quitRequested = Signal()
    resultChanged = Signal(str)  # the last result as one line
    notified = Signal(str, str)  # title, message (also shown when there is no tray)

    def __init__(self, session: Session, window: QWidget) -> None:
        super().__init__(window)
        self.session = session
        self.last_result = "No synchronisation yet"
        self.last_failed = False
        self._sync_jobs: dict[str, Job[object]] = {}
        self.menu = QMenu(window)
        self.menu.setObjectName("trayMenu")
        self.result_action = QAction(icon("sync"), self.last_result, self.menu)
        self.result_action.setEnabled(False)
        self.show_action = QAction(icon("about"), "&Show PMC", self.menu)
        self.sync_action = QAction(icon("sync"), "S&ynchronize all servers", self.menu)
        self.quit_action = QAction(icon("quit"), "&Quit PMC", self.menu)
        self.quit_action.setToolTip("Cancel running synchronisations and schedules, then quit")
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

    def _event(self, event: JobEvent) -> None:
        if event.kind not in FINAL:
            return
        job = self._sync_jobs.pop(event.job_id, None)
        if job is None:
            return
        when = time.strftime("%H:%M", time.localtime(event.time))
        cluster = job.cluster or ""
        words = {
            EventKind.FINISHED: "synchronised",
            EventKind.FAILED: "synchronisation FAILED",
            EventKind.CANCELLED: "synchronisation cancelled",
        }[event.kind]
        self.last_failed = event.kind is EventKind.FAILED
        self.last_result = f"{when} {cluster}: {words}"
        self.result_action.setText(self.last_result)
        self._update_tooltip()
        self.resultChanged.emit(self.last_result)
        if event.kind is EventKind.FAILED:
            self.notify(
                f"Synchronisation of {cluster} failed",
                event.message or "See the sync panel for the log.",
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

    def _update_tooltip(self) -> None:
        if self.icon is not None:
            self.icon.setToolTip(f"Playout Management Console\n{self.last_result}")

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()
