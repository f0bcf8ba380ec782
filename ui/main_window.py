"""The main window: menus, the cluster tree (left), the topology (centre), the status table,
the jobs panel and the sync panel (docked below), and the tray icon. It wires widgets together
and starts work on the loop; the work itself is pmc's.

This module builds the window, its docks and signal wiring, and keeps its layout in QSettings;
the rest is split by responsibility into mixins: actions, menus and toolbar
(:mod:`ui.main_window_actions`), selection kept in step across tree, topology and status
(:mod:`ui.main_window_selection`), the operator's flows — inventory, connect, wizard, verify,
dialogs (:mod:`ui.main_window_flows`) — and synchronisation, schedules and the tray
(:mod:`ui.main_window_sync`).

With a sync runner that has schedules or running syncs, closing the window can keep PMC
alive in the tray (asked once, remembered in QSettings ``tray/on_close``); Quit in the tray
menu cancels the runner's jobs and schedules, then quits."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QWidget,
)

from pmc.status import DriftCache
from pmc.sync.runner import SyncRunner
from ui.cluster_tree import ClusterTree
from ui.error_dialog import show_error
from ui.icons import app_icon
from ui.jobs_panel import JobsPanel
from ui.main_window_actions import ActionsMixin
from ui.main_window_flows import FlowsMixin
from ui.main_window_selection import SelectionMixin
from ui.main_window_sync import SyncWindowMixin
from ui.session import Session
from ui.status_panel import StatusPanel
from ui.status_poller import StatusPoller
from ui.sync_panel import SyncPanel, make_runner
from ui.topology_view import TopologyView
from ui.tray import SyncTray

DRIFT_MINUTES = 5  # default interval of the status table's drift column


class MainWindow(ActionsMixin, SelectionMixin, FlowsMixin, SyncWindowMixin, QMainWindow):
    def __init__(self, session: Session, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.session = session
        self.settings = settings
        self.setWindowTitle("Playout Management Console")
        self.setWindowIcon(app_icon())
        self.resize(1280, 820)
        self.setDockNestingEnabled(True)

        def report(what: str, exc: BaseException) -> None:
            show_error(self, what, exc)

        session.tasks.on_error = report

        self.tree = ClusterTree()
        self.topology = TopologyView()
        self.status = StatusPanel()
        self.jobs = JobsPanel(session)
        self.runner: SyncRunner | None = None
        self.drift: DriftCache | None = None
        self.sync: SyncPanel | None = None
        if session.pool is not None:
            self.runner = make_runner(session, self)
            self.drift = DriftCache(self.runner.drift, interval=DRIFT_MINUTES * 60)
            self.sync = SyncPanel(session, self.runner)
            self.runner.confirm = self.sync.confirm  # inline prompt, not a dialog
            self.runner.on_job(self._sync_submitted)
        self.poller = StatusPoller(session, self, drift=self.drift, syncing=self._syncing)
        self.tray = SyncTray(session, self)
        self.quit_app: Any = QApplication.quit  # tests replace it
        self._quitting = False
        self._schedules_stopped = False
        self.setCentralWidget(self.topology)
        self.tree_dock = self._dock(
            "Clusters", "clustersDock", self.tree, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.status_dock = self._dock(
            "Cluster status", "statusDock", self.status, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.jobs_dock = self._dock(
            "Jobs", "jobsDock", self.jobs, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.tabifyDockWidget(self.status_dock, self.jobs_dock)
        self.sync_dock: QDockWidget | None = None
        if self.sync is not None:
            self.sync_dock = self._dock(
                "Synchronisation", "syncDock", self.sync, Qt.DockWidgetArea.BottomDockWidgetArea
            )
            self.tabifyDockWidget(self.jobs_dock, self.sync_dock)
        self.status_dock.raise_()
        self.resizeDocks([self.tree_dock], [260], Qt.Orientation.Horizontal)
        self.resizeDocks([self.status_dock], [230], Qt.Orientation.Vertical)
        self.state_label = QLabel()
        self.statusBar().addPermanentWidget(self.state_label)

        self._make_actions()
        self._make_menus()
        self._make_toolbar()

        session.inventoryChanged.connect(self._inventory_changed)
        session.hostKeyChanged.connect(self._host_key_changed)
        session.jobStarted.connect(self._job_started)
        self.tree.clusterSelected.connect(self._cluster_selected)
        self.tree.serverSelected.connect(self._server_selected)
        self.tree.itemDoubleClicked.connect(lambda *_: self.edit_server.trigger())
        self.topology.topology.activated.connect(self._topology_activated)
        self.status.serverActivated.connect(self._status_server_activated)
        self.status.refreshRequested.connect(self.poller.refresh)
        self.status.intervalChanged.connect(self._interval_changed)
        self.status.driftIntervalChanged.connect(self._drift_interval_changed)
        self.status.syncRequested.connect(self.synchronize.trigger)
        if self.sync is not None:
            self.sync.driftChecked.connect(self._drift_checked)
            self.sync.promptShown.connect(self._prompt_shown)
        self.tray.showRequested.connect(self.show_from_tray)
        self.tray.syncRequested.connect(self.synchronize.trigger)
        self.tray.quitRequested.connect(self._spawn("quitting", self.quit_flow))
        self.tray.resultChanged.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.tray_keep = QAction("Keep running in the tray when the window closes", self)
        self.tray_keep.setCheckable(True)
        self.tray_keep.toggled.connect(self._tray_keep_toggled)
        self.tray.menu.insertAction(self.tray.quit_action, self.tray_keep)
        self.tree.set_context_actions(
            [self.connect_server, self.edit_server, self.remove_server, None,
             self.setup_redundancy, self.verify, self.synchronize, None,
             "Se&ttings", self.export_settings, self.import_settings],
            [self.connect_server, self.edit_server, self.add_server, None,
             self.setup_redundancy, self.verify, self.synchronize],
        )  # fmt: skip
        self.poller.updated.connect(self._status_updated)
        self.poller.refreshing.connect(
            lambda busy: self.state_label.setText("Probing servers…" if busy else "")
        )
        self._warned: set[str] = set()
        self._restore_settings()
        self._inventory_changed()
        self.session.tasks.spawn(self.jobs.load_history(), what="loading the job history")
        if self.runner is not None:
            QTimer.singleShot(0, self._start_schedules)

    # construction --------------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # settings ------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        interval = 15
        if self.settings is not None:
            geometry = self.settings.value("window/geometry")
            state = self.settings.value("window/state")
            if isinstance(geometry, QByteArray):
                self.restoreGeometry(geometry)
            if isinstance(state, QByteArray):
                self.restoreState(state)
            header = self.settings.value("status/header")
            if isinstance(header, QByteArray):
                self.status.table.horizontalHeader().restoreState(header)
                self.status.table.setProperty("sized", True)
            # an int, or its text where the settings are an INI file
            interval = int(str(self.settings.value("status/interval", 15)))
            drift_minutes = int(str(self.settings.value("status/drift_minutes", DRIFT_MINUTES)))
            self.status.drift_interval.setValue(drift_minutes)
            self.tray_keep.setChecked(self._tray_choice() == "tray")
        self.status.interval.setValue(interval)
        self.poller.set_interval(interval)

    def save_settings(self) -> None:
        if self.settings is None:
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("status/header", self.status.table.horizontalHeader().saveState())
        self.settings.setValue("inventory/last", str(self.session.inventory_path))
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._quitting and self.tray.available and self.runner_busy():
            choice = self._tray_choice()
            if choice == "tray":
                event.ignore()
                self.hide_to_tray()
                return
            if choice != "quit":
                event.ignore()
                self._ask_keep_in_tray()
                return
        running = [j for j in self.session.jobs if j.state.value == "running"]
        if running and not getattr(self, "_closing_confirmed", False):
            event.ignore()
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                "Jobs are running",
                f"{len(running)} job(s) are still running. Cancel them at their "
                "next safe point and quit?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                self,
            )

            def answered(code: int) -> None:
                if code == QMessageBox.StandardButton.Yes:
                    for job in running:
                        job.cancel()
                    self._closing_confirmed = True
                    QTimer.singleShot(0, self.close)

            box.finished.connect(answered)
            box.open()
            return
        self.poller.stop()
        self.save_settings()
        self._stop_schedules()
        self.tray.hide()
        super().closeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.poller.cluster is not None:
            self.poller.watch(self.poller.cluster)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if not self.isVisible():
            self.poller.stop()
