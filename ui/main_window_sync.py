"""The main window's synchronisation and tray behaviour (a mixin of
:class:`ui.main_window.MainWindow`, kept apart so that neither module grows past a screenful
of concerns): Cluster ▸ Synchronize all servers, the sync dock, the drift column's refresh
after a sync, remediation prompts raised into view, the inventory's sync schedules given to the
runner whenever the inventory is read (schedules an older PMC kept in QSettings moved into it
once), closing into the tray (asked once, remembered in QSettings ``tray/on_close``) and
Quit from the tray."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QMessageBox

from pmc.jobs import Job
from pmc.sync.runner import SyncRequest, finished, schedules_of
from ui.error_dialog import show_error
from ui.main_window_base import WindowBase
from ui.sync_schedules import forget, migrate, saved_clusters


class SyncWindowMixin(WindowBase):
    """Methods only; the attributes (runner, sync, sync_dock, drift, tray, poller, settings,
    session…) are the main window's."""

    def show_sync_panel(self) -> None:
        if self.sync_dock is not None:
            self.sync_dock.show()
            self.sync_dock.raise_()
            if self.sync_dock.height() < 320:  # room for the log, a prompt and the drift
                self.resizeDocks([self.sync_dock], [340], Qt.Orientation.Vertical)
            self._follow_cluster(self.current_cluster())

    def synchronize_now(self) -> Job[object] | None:
        """Cluster ▸ Synchronize all servers: the sync panel, and a sync of the cluster."""
        cluster = self.current_cluster()
        if cluster is None or self.sync is None:
            return None
        self.show_sync_panel()
        try:
            return self.sync.synchronize()
        except Exception as exc:  # an unknown cluster name, no running loop…
            show_error(self, f"synchronising {cluster.name}", exc)
            return None

    def _syncing(self, cluster: str) -> bool:
        return self.runner is not None and self.runner.running(cluster) is not None

    def _sync_submitted(self, job: Job[object], request: SyncRequest) -> None:
        self.session.tasks.spawn(self._after_sync(job, request.cluster), what="after a sync")

    async def _after_sync(self, job: Job[object], cluster: str) -> None:
        """A finished sync changes the drift: compare again at the next refresh."""
        await finished(job)
        if self.drift is not None:
            self.drift.invalidate(cluster)
        current = self.current_cluster()
        if current is not None and current.name == cluster and self.isVisible():
            self.poller.refresh()

    def _drift_checked(self, report: Any) -> None:
        if self.drift is not None:
            self.drift.remember(report.cluster, report)
            self.poller.apply_drift()

    def _prompt_shown(self, fix: Any) -> None:
        self.show_sync_panel()
        if not self.isVisible():
            self.tray.notify(
                f"Copy config on {fix.plan.cluster} needs you",
                f"{fix.failure.explain()}. Open PMC to confirm the fix.",
            )

    # schedules (kept in the inventory) ----------------------------------------------------
    def _start_schedules(self) -> None:
        """At start-up: move schedules an older PMC kept in QSettings into the inventory
        (once), then run the inventory's schedules."""
        self.session.tasks.spawn(self._migrate_schedules(), what="moving the sync schedules")

    async def _migrate_schedules(self) -> None:
        if self.settings is not None and saved_clusters(self.settings):
            inventory, handled = migrate(self.settings, self.session.inventory)
            if inventory != self.session.inventory:
                await self.session.save(inventory)  # re-read: the runner follows it
                self.statusBar().showMessage(
                    "Sync schedules moved from PMC's settings into the inventory file", 8000
                )
            forget(self.settings, handled)
        self._apply_schedules()

    def _apply_schedules(self) -> None:
        """Give the runner the inventory's clusters and schedules (after every (re)read)."""
        if self.runner is None or self._quitting or self._schedules_stopped:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the window is built before the loop runs: once it does
            QTimer.singleShot(0, self._apply_schedules)
            return
        inventory = self.session.inventory
        self.runner.use_clusters(inventory.cluster)
        try:
            changed = self.runner.set_schedules(schedules_of(inventory))
        except Exception as exc:
            show_error(self, "starting the inventory's sync schedules", exc)
            return
        if changed:
            count = len(self.runner.schedules)
            self.statusBar().showMessage(f"{count} sync schedule(s) running", 8000)
        if self.sync is not None:
            self.sync.set_cluster(self.sync.cluster)

    def _stop_schedules(self) -> None:
        """The window closes for good: no schedule runs on (the inventory keeps them)."""
        self._schedules_stopped = True
        if self.runner is not None:
            self.runner.set_schedules([])

    # tray ----------------------------------------------------------------------------------
    def runner_busy(self) -> bool:
        """Schedules set, or a sync running or queued: worth keeping alive in the tray."""
        runner = self.runner
        if runner is None:
            return False
        names = [c.name for c in self.session.inventory.clusters]
        return bool(runner.schedules) or any(
            runner.running(n) is not None or runner.queued(n) for n in names
        )

    def _tray_choice(self) -> str:
        if self.settings is None:
            return ""
        return str(self.settings.value("tray/on_close", "") or "")

    def _tray_keep_toggled(self, keep: bool) -> None:
        if self.settings is not None:
            self.settings.setValue("tray/on_close", "tray" if keep else "quit")

    def show_from_tray(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def hide_to_tray(self) -> None:
        self.save_settings()
        self.hide()
        self.tray.notify(
            "PMC keeps running in the tray",
            "Schedules and running synchronisations go on. Quit from the tray menu to stop.",
        )

    def _ask_keep_in_tray(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Keep PMC running?",
            "Synchronisation schedules or running syncs need PMC to keep running. Keep it "
            "running in the tray (Quit from the tray menu stops everything)?",
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setObjectName("keepInTrayQuestion")
        keep = box.addButton("Keep running in the tray", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Quit", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        remember = QCheckBox("Do not ask again")
        remember.setChecked(True)
        box.setCheckBox(remember)
        self.last_dialog = box

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
                self._quitting = True
                QTimer.singleShot(0, self.close)

        box.finished.connect(answered)
        box.open()

    async def quit_flow(self) -> None:
        """Quit from the tray: stop schedules and running syncs cleanly, then quit."""
        self._quitting = True
        self.poller.stop()
        running = [job for job in self.session.jobs if not job.state.is_final]
        for job in running:
            job.cancel()
        if self.runner is not None:
            await self.runner.close()
        others = [finished(job) for job in running if job.kind != "sync"]
        if others:  # a setup apply rolls back at its next safe point: give it the time
            await asyncio.wait([asyncio.ensure_future(c) for c in others], timeout=120)
        self.statusBar().showMessage("Quitting…")
        self.tray.hide()
        self.close()
        self.quit_app()
