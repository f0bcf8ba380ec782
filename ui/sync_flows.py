"""The main window's synchronisation and tray: Cluster ▸ Synchronize all servers, the sync
dock, the drift column's refresh after a sync, remediation prompts raised into view, the
inventory's sync schedules given to the runner whenever the inventory is read (what an older
PMC kept in its settings moved into the inventory first: :mod:`pmc.inventory_upgrade`),
closing into the tray (asked once, remembered in QSettings ``tray/on_close``) and Quit from
the tray, which cancels the runner's jobs and schedules, then quits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QDockWidget, QMessageBox

from pmc.drift_cache import DriftCache
from pmc.inventory_upgrade import upgrade_inventory
from pmc.jobs import Job
from pmc.sync.copy_config import Remediation
from pmc.sync.drift import DriftReport
from pmc.sync.runner import SyncRunner, finished, schedules_of

from .error_dialog import show_error
from .old_settings import QtOldSettings
from .status_poller import StatusPoller
from .sync_panel import SyncPanel
from .translation import count, tr
from .tray import SyncTray
from .window_parts import WindowFlows, WindowParts

CHANGING_JOBS = frozenset({"sync", "setup", "setup-apply", "import"})
"""Jobs that change servers: the drift column compares again when one ends."""


class SyncFlows(WindowFlows):
    def __init__(
        self,
        parts: WindowParts,
        *,
        poller: StatusPoller,
        tray: SyncTray,
        runner: SyncRunner | None,
        drift: DriftCache | None,
        panel: SyncPanel | None,
        dock: QDockWidget | None,
        settings: Callable[[], QSettings | None],
        save_settings: Callable[[], None],
    ) -> None:
        super().__init__(parts)
        window, session = parts.window, parts.session
        self.poller = poller
        self.tray = tray
        self.runner = runner
        self.drift = drift
        self.panel = panel
        self.dock = dock
        self.settings = settings
        self.save_settings = save_settings
        self.quit_app: Callable[[], None] = QApplication.quit  # tests replace it
        self.quitting = False
        self.schedules_stopped = False
        self.tray_keep = QAction(tr("Keep running in the tray when the window closes"), window)
        self.tray_keep.setCheckable(True)
        self.tray_keep.setChecked(self.tray_choice() == "tray")
        self.tray_keep.toggled.connect(self._tray_keep_toggled)
        tray.menu.insertAction(tray.quit_action, self.tray_keep)
        tray.showRequested.connect(self.show_from_tray)
        tray.quitRequested.connect(lambda: session.tasks.spawn(self.quit_flow(), what="quitting"))
        session.jobStarted.connect(self._job_started)
        if runner is not None and panel is not None:
            runner.confirm = panel.confirm  # inline prompt, not a dialog
            panel.driftChecked.connect(self._drift_checked)
            panel.promptShown.connect(self._prompt_shown)
            QTimer.singleShot(0, self._start_schedules)

    # synchronising ------------------------------------------------------------------------
    def show_sync_panel(self) -> None:
        if self.dock is not None:
            self.dock.show()
            self.dock.raise_()
            if self.dock.height() < 320:  # room for the log, a prompt and the drift
                self.window.resizeDocks([self.dock], [340], Qt.Orientation.Vertical)
            self.selection.follow_cluster(self.selection.current_cluster())

    def synchronize_now(self) -> Job[object] | None:
        """Cluster ▸ Synchronize all servers: the sync panel, and a sync of the cluster."""
        cluster = self.selection.current_cluster()
        if cluster is None or self.panel is None:
            return None
        self.show_sync_panel()
        try:
            return self.panel.synchronize()
        except Exception as exc:  # an unknown cluster name, no running loop…
            show_error(self.window, tr("synchronizing {cluster}").format(cluster=cluster.name), exc)
            return None

    def syncing(self, cluster: str) -> bool:
        return self.runner is not None and self.runner.running(cluster) is not None

    def _job_started(self, job: Job[object]) -> None:
        if job.kind in CHANGING_JOBS and job.cluster:
            self.session.tasks.spawn(self._after_change(job, job.cluster), what="after a job")

    async def _after_change(self, job: Job[object], cluster: str) -> None:
        """A finished sync, setup apply or import changes the drift (and the status):
        compare again and refresh now."""
        await finished(job)
        if self.drift is not None:
            self.drift.invalidate(cluster)
        current = self.selection.current_cluster()
        if current is not None and current.name == cluster and self.window.isVisible():
            self.poller.refresh()

    def _drift_checked(self, report: DriftReport) -> None:
        if self.drift is not None:
            self.drift.remember(report.cluster, report)
            self.poller.apply_drift()

    def _prompt_shown(self, fix: Remediation) -> None:
        self.show_sync_panel()
        self.tray.set_result(
            tr("{cluster}: copy config failed, waiting for your answer in the sync panel").format(
                cluster=fix.plan.cluster
            ),
            failed=True,
        )
        if not self.window.isVisible():
            self.tray.notify(
                tr("Copy config on {cluster} needs you").format(cluster=fix.plan.cluster),
                tr("{why}. Open PMC to confirm the fix.").format(why=fix.failure.explain()),
            )

    # schedules (kept in the inventory) ----------------------------------------------------
    def _start_schedules(self) -> None:
        """At start-up: bring into the inventory what an older PMC kept in its settings,
        then run the inventory's schedules."""
        self.session.tasks.spawn(self._upgrade_inventory(), what="moving the sync schedules")

    async def _upgrade_inventory(self) -> None:
        settings = self.settings()
        if settings is not None:
            upgrade = upgrade_inventory(self.session.inventory, QtOldSettings(settings))
            if upgrade.inventory != self.session.inventory:
                await self.session.save(upgrade.inventory)  # re-read: the runner follows it
            upgrade.finish()
            for note in upgrade.notes:
                self.window.statusBar().showMessage(note, 8000)
        self.apply_schedules()

    def apply_schedules(self) -> None:
        """Give the runner the inventory's clusters and schedules (after every (re)read)."""
        if self.runner is None or self.quitting or self.schedules_stopped:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the window is built before the loop runs: once it does
            QTimer.singleShot(0, self.apply_schedules)
            return
        self.runner.use_clusters(self.session.workspace.cluster)
        try:
            changed = self.runner.set_schedules(schedules_of(self.session.inventory))
        except Exception as exc:
            show_error(self.window, "starting the inventory's sync schedules", exc)
            return
        if changed:
            number = len(self.runner.schedules)
            self.window.statusBar().showMessage(
                tr("{schedules} running").format(schedules=count(number, "sync schedule")), 8000
            )
        if self.panel is not None:
            self.panel.set_cluster(self.panel.cluster)

    def stop_schedules(self) -> None:
        """The window closes for good: no schedule runs on (the inventory keeps them)."""
        self.schedules_stopped = True
        if self.runner is not None:
            self.runner.set_schedules([])

    # the tray ------------------------------------------------------------------------------
    def runner_busy(self) -> bool:
        """Schedules set, or a sync running or queued: worth keeping alive in the tray."""
        runner = self.runner
        if runner is None:
            return False
        names = [c.name for c in self.session.inventory.clusters]
        return bool(runner.schedules) or any(
            runner.running(n) is not None or runner.queued(n) for n in names
        )

    def may_close(self, event: QCloseEvent) -> bool:
        """Whether the window may close now; if not, it went to the tray or asks first."""
        if self.quitting or not self.tray.available or not self.runner_busy():
            return True
        event.ignore()
        choice = self.tray_choice()
        if choice == "tray":
            self.hide_to_tray()
        elif choice != "quit":
            self._ask_keep_in_tray()
        else:
            return True
        return False

    def tray_choice(self) -> str:
        settings = self.settings()
        return "" if settings is None else str(settings.value("tray/on_close", "") or "")

    def _tray_keep_toggled(self, keep: bool) -> None:
        settings = self.settings()
        if settings is not None:
            settings.setValue("tray/on_close", "tray" if keep else "quit")

    def show_from_tray(self) -> None:
        self.window.show()
        self.window.setWindowState(self.window.windowState() & ~Qt.WindowState.WindowMinimized)
        self.window.raise_()
        self.window.activateWindow()

    def hide_to_tray(self) -> None:
        self.save_settings()
        self.window.hide()
        self.tray.notify(
            tr("PMC keeps running in the tray"),
            tr(
                "Schedules, running synchronizations and the status checks go on. Quit from the "
                "tray menu to stop."
            ),
        )

    def _ask_keep_in_tray(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            tr("Keep PMC running?"),
            tr(
                "Synchronization schedules or running syncs need PMC to keep running. Keep it "
                "running in the tray (Quit from the tray menu stops everything)?"
            ),
            QMessageBox.StandardButton.NoButton,
            self.window,
        )
        box.setObjectName("keepInTrayQuestion")
        keep = box.addButton(tr("Keep running in the tray"), QMessageBox.ButtonRole.AcceptRole)
        box.addButton(tr("Quit"), QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        remember = QCheckBox(tr("Do not ask again"))
        remember.setChecked(True)
        box.setCheckBox(remember)

        def answered(_code: int) -> None:
            clicked = box.clickedButton()
            if clicked is None or box.buttonRole(clicked) == QMessageBox.ButtonRole.RejectRole:
                return
            kept = clicked is keep
            if remember.isChecked():
                self.tray_keep.setChecked(kept)
                self._tray_keep_toggled(kept)
            if kept:
                self.hide_to_tray()
            else:
                self.quitting = True
                QTimer.singleShot(0, self.window.close)

        box.finished.connect(answered)
        self.dialogs.last = box
        box.open()

    async def quit_flow(self) -> None:
        """Quit from the tray: stop schedules and running syncs cleanly, then quit."""
        self.quitting = True
        self.poller.stop()
        running = [job for job in self.session.jobs if not job.state.is_final]
        for job in running:
            job.cancel()
        if self.runner is not None:
            await self.runner.close()
        others = [finished(job) for job in running if job.kind != "sync"]
        if others:  # a setup apply rolls back at its next safe point: give it the time
            await asyncio.wait([asyncio.ensure_future(c) for c in others], timeout=120)
        self.window.statusBar().showMessage(tr("Quitting…"))
        self.tray.hide()
        self.window.close()
        self.quit_app()
