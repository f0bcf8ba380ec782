"""The main window: menus, the cluster tree with its filter (left), the topology (centre; the
welcome page instead while the inventory is empty), the status table, the jobs panel and the
sync panel (docked below), the status bar (the watched cluster's health, the last
synchronization) and the tray icon. It builds the widgets and the controllers that own the
operator's flows, wires them together and keeps its layout in QSettings; the work itself is
pmc's. The health of the watched cluster is judged once (:mod:`pmc.health`, by the poller)
and every view shows that one judgement.

Controllers (each its own module): the selection kept in step across tree, topology and status
(:mod:`ui.window_selection`); the inventory flows — clusters, servers, connect, host keys,
an inventory imported, the rehearsal lab started from the welcome page
(:mod:`ui.inventory_flows`, :mod:`ui.lab_flows`); setup wizard and verify
(:mod:`ui.setup_flows`); export and import (:mod:`ui.bundle_flows`); synchronization,
schedules and the tray (:mod:`ui.sync_flows`). Every command is a row of
:data:`ui.window_actions.ACTIONS`.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from pmc.drift_cache import DriftCache
from pmc.health_model import ClusterHealth, State
from pmc.jobs import Job, JobState

from .about_dialog import AboutDialog
from .async_dialog import Dialogs
from .bundle_flows import BundleFlows
from .cluster_flows import ClusterFlows
from .cluster_tree import ClusterBrowser, ClusterTree
from .error_dialog import show_error
from .first_frame import place
from .fleet_poller import FleetPoller
from .fleet_view import FleetView
from .health_look import forget_badges, state_colour
from .icons import app_icon, forget_icons
from .inventory_flows import InventoryFlows
from .jobs_panel import JobsPanel
from .lab_flows import LabFlows, lab_unavailable
from .log_viewer import LogViewer
from .session import Session
from .setup_flows import SetupFlows
from .status_panel import StatusPanel
from .status_poller import StatusPoller
from .sync_flows import SyncFlows
from .sync_panel import SyncPanel
from .sync_runner import make_runner
from .topology_view import TopologyView
from .translation import count, tr
from .tray import SyncTray
from .welcome_page import WelcomePage
from .window_actions import WindowActions
from .window_parts import WindowParts
from .window_selection import Selection

DRIFT_MINUTES = 5  # default interval of the status table's drift column


class MainWindow(QMainWindow):
    def __init__(self, session: Session, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.session = session
        self.settings = settings
        self.setWindowTitle(tr("Playout Management Console"))
        self.setWindowIcon(app_icon())
        place(self, None)  # the saved place is restored with the rest of the settings
        self.setDockNestingEnabled(True)
        # the docks below take the whole width: the status table's columns need it
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._closing_confirmed = False
        self._shown = False
        self._first_run = False

        def report(what: str, exc: BaseException) -> None:
            show_error(self, what, exc)

        session.tasks.on_error = report

        # widgets and docks
        self.tree = ClusterTree()
        self.topology = TopologyView()
        self.status = StatusPanel()
        self.jobs = JobsPanel(session)
        runner = make_runner(session, self) if session.pool is not None else None
        self.runner = runner
        self.drift = DriftCache(runner.drift, interval=DRIFT_MINUTES * 60) if runner else None
        self.sync = SyncPanel(session, runner) if runner else None
        self.poller = StatusPoller(
            session,
            self,
            drift=self.drift,
            syncing=lambda cluster: runner is not None and runner.running(cluster) is not None,
        )
        self.tray = SyncTray(session, self)
        self.fleet = FleetView()
        self.fleet_poller = FleetPoller(
            session,
            self,
            job_running=lambda cluster: runner is not None and runner.running(cluster) is not None,
        )
        self.welcome = WelcomePage()
        self.welcome.set_inventory_path(session.inventory_path)
        self.centre = QStackedWidget()
        self.centre.addWidget(self.welcome)
        self.centre.addWidget(self.topology)
        self.centre.addWidget(self.fleet)
        self.setCentralWidget(self.centre)
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        self.browser = ClusterBrowser(self.tree)
        self.tree_dock = self._dock(tr("Clusters"), "clustersDock", self.browser, left)
        self.status_dock = self._dock(tr("Cluster status"), "statusDock", self.status, bottom)
        self.jobs_dock = self._dock(tr("Jobs"), "jobsDock", self.jobs, bottom)
        self.tabifyDockWidget(self.status_dock, self.jobs_dock)
        self.sync_dock: QDockWidget | None = None
        if self.sync is not None:
            self.sync_dock = self._dock(tr("Synchronization"), "syncDock", self.sync, bottom)
            self.tabifyDockWidget(self.jobs_dock, self.sync_dock)
        self.status_dock.raise_()
        self.resizeDocks([self.tree_dock], [250], Qt.Orientation.Horizontal)
        self.resizeDocks([self.status_dock], [270], Qt.Orientation.Vertical)
        self.state_label = QLabel()
        self.state_label.setObjectName("probingState")
        self.health_label = QLabel()
        self.health_label.setObjectName("healthSummary")
        self.sync_label = QLabel()
        self.sync_label.setObjectName("syncSummary")
        self.statusBar().addWidget(self.health_label, 1)
        self.statusBar().addPermanentWidget(self.sync_label)
        self.statusBar().addPermanentWidget(self.state_label)

        # controllers
        self.dialogs = Dialogs()
        self.selection = Selection(
            session,
            tree=self.tree,
            topology=self.topology,
            status=self.status,
            poller=self.poller,
            sync=self.sync,
            shown=lambda: self._shown,
        )
        parts = WindowParts(self, session, self.selection, self.dialogs)
        self.inventory_flows = InventoryFlows(parts, poller=self.poller)
        self.lab_flows = LabFlows(parts)
        self.setup_flows = SetupFlows(parts)
        self.bundle_flows = BundleFlows(parts)
        self.sync_flows = SyncFlows(
            parts, poller=self.poller, tray=self.tray,
            runner=runner, drift=self.drift, panel=self.sync, dock=self.sync_dock,
            settings=lambda: self.settings, save_settings=self.save_settings,
        )  # fmt: skip
        self.cluster_flows = ClusterFlows(parts)
        inventory, setup, sync = self.inventory_flows, self.setup_flows, self.sync_flows
        self.commands = WindowActions(
            self,
            {
                "add_server": inventory.add_server,
                "edit_server": inventory.edit_server,
                "remove_server": inventory.remove_server,
                "connect_server": inventory.connect,
                "replace_host_key": inventory.replace_host_key,
                "export_settings": self.bundle_flows.export,
                "import_settings": self.bundle_flows.import_bundle,
                "quit": self.close,
                "new_cluster": inventory.new_cluster,
                "setup_redundancy": setup.open_wizard,
                "verify": setup.verify,
                "synchronize": sync.synchronize_now,
                "switch_over": self.cluster_flows.switch_over,
                "history": self.cluster_flows.history,
                "refresh": self.poller.refresh,
                "zoom_in": self.topology.zoom_in,
                "zoom_out": self.topology.zoom_out,
                "zoom_fit": self.topology.fit,
                "export_image": self.export_diagram,
                "import_inventory": inventory.import_inventory,
                "show_log": self.show_log,
                "show_fleet": self.show_fleet,
                "about": self.show_about,
            },
            lambda work, what: session.tasks.spawn(work, what=what),
        )
        docks = [d for d in (self.tree_dock, self.status_dock, self.jobs_dock, self.sync_dock) if d]
        self.commands.fill_menus(self.menuBar(), docks)
        self.toolbar = self.commands.toolbar(self)
        a = self.commands
        self.tree.set_context_actions(
            [a["connect_server"], a["edit_server"], a["remove_server"], None,
             a["setup_redundancy"], a["verify"], a["synchronize"], None,
             "Se&ttings", a["export_settings"], a["import_settings"]],
            [a["connect_server"], a["edit_server"], a["add_server"], None,
             a["setup_redundancy"], a["verify"], a["synchronize"]],
        )  # fmt: skip

        # wiring
        session.inventoryChanged.connect(self._inventory_changed)
        session.jobStarted.connect(self._job_started)
        self.selection.changed.connect(self._update_actions)
        self.tree.itemDoubleClicked.connect(lambda *_: a["edit_server"].trigger())
        self.status.refreshRequested.connect(self.poller.refresh)
        self.status.intervalChanged.connect(self._interval_changed)
        self.status.driftIntervalChanged.connect(self._drift_interval_changed)
        self.status.syncRequested.connect(a["synchronize"].trigger)
        self.tray.syncRequested.connect(a["synchronize"].trigger)
        self.tray.resultChanged.connect(self._sync_result)
        self.poller.refreshing.connect(
            lambda busy: self.state_label.setText(tr("Probing servers…") if busy else "")
        )
        self.poller.assessed.connect(self._health_changed)
        self.fleet_poller.rowsChanged.connect(self.fleet.show_rows)
        self.fleet_poller.healthChanged.connect(self.tray.alert)
        self.fleet.clusterOpened.connect(self.open_cluster)
        self.welcome.newCluster.connect(a["new_cluster"].trigger)
        self.welcome.importInventory.connect(a["import_inventory"].trigger)
        self.welcome.startLab.connect(
            lambda: session.tasks.spawn(self.lab_flows.start_lab(), what="starting the lab")
        )
        self.welcome.set_lab(lab_unavailable())
        self._restore_settings()
        self._inventory_changed()
        session.tasks.spawn(self.jobs.load_history(), what="loading the job history")

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # following the session ----------------------------------------------------------------
    def _inventory_changed(self) -> None:
        self.selection.show_inventory()
        self.sync_flows.apply_schedules()
        first_run = not self.session.inventory.clusters
        if first_run != self._first_run:  # the docks have nothing to show on a first run
            self._first_run = first_run
            for dock in (self.tree_dock, self.status_dock, self.jobs_dock, self.sync_dock):
                if dock is not None:
                    dock.setVisible(not first_run)
            self.status_dock.raise_()
        fleet = len(self.session.inventory.clusters) > 1
        if first_run:
            self.centre.setCurrentWidget(self.welcome)
        elif fleet and self.centre.currentWidget() is not self.topology:
            self.centre.setCurrentWidget(self.fleet)  # more than one cluster: all at a glance
        elif not fleet or self.centre.currentWidget() is self.welcome:
            self.centre.setCurrentWidget(self.topology)
        self._follow_fleet()
        if first_run:
            self.health_label.setText(tr("No cluster yet: add one, or import an inventory"))

    def show_fleet(self) -> None:
        """Every cluster at a glance (View > All clusters)."""
        self.centre.setCurrentWidget(self.fleet)
        self._follow_fleet()

    def open_cluster(self, name: str) -> None:
        """A cluster of the fleet view, in the diagram, the table and the tree."""
        self.tree.select(name)
        self.centre.setCurrentWidget(self.topology)
        self._follow_fleet()

    def _follow_fleet(self) -> None:
        """The fleet is probed while its page shows (also hidden in the tray)."""
        if self.centre.currentWidget() is self.fleet and self._shown:
            self.fleet_poller.start()
        else:
            self.fleet_poller.stop()

    def _update_actions(self) -> None:
        cluster = self.selection.current_cluster()
        self.commands.update(
            cluster=cluster is not None,
            servers=cluster is not None and bool(cluster.servers),
            server=self.selection.current_server() is not None,
            sync=self.runner is not None,
        )
        enabled = self.commands["synchronize"].isEnabled()
        self.status.sync_button.setEnabled(enabled)
        self.tray.sync_action.setEnabled(enabled)
        self.status.refresh_button.setEnabled(self.commands["refresh"].isEnabled())

    def _health_changed(self, health: ClusterHealth) -> None:
        """The status bar and the tray say what the table says."""
        state = health.overall if health.checked else State.UNKNOWN
        colour = state_colour(state).name()
        mark = f"<span style='color:{colour}'>{state.symbol}</span>"
        self.health_label.setText(f"{mark} {html.escape(health.summary)}")
        self.health_label.setToolTip("\n".join(health.problem_lines()) or health.summary)
        self.tray.apply_health(health)

    def _sync_result(self, text: str) -> None:
        self.sync_label.setText(text)
        self.sync_label.setStyleSheet(
            f"color: {state_colour(State.FAILED).name()};" if self.tray.last_failed else ""
        )

    def _job_started(self, job: Job[object]) -> None:
        if job.kind != "sync":
            self.jobs_dock.raise_()

    def _interval_changed(self, seconds: int) -> None:
        self.poller.set_interval(seconds)
        if self.settings is not None:
            self.settings.setValue("status/interval", seconds)

    def _drift_interval_changed(self, minutes: int) -> None:
        if self.drift is not None:
            self.drift.interval = minutes * 60
        if self.settings is not None:
            self.settings.setValue("status/drift_minutes", minutes)

    # view ----------------------------------------------------------------------------------
    def export_diagram(self) -> None:
        cluster = self.selection.current_cluster()
        dialog = QFileDialog(self, tr("Export the topology diagram"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters([tr("PNG image (*.png)"), tr("SVG drawing (*.svg)")])
        dialog.setDefaultSuffix("png")
        dialog.selectFile(f"{cluster.name if cluster else 'cluster'}-topology.png")

        def chosen(path: str) -> None:
            try:
                self.topology.export(Path(path))
            except OSError as exc:
                show_error(self, tr("exporting the diagram"), exc)
            else:
                self.statusBar().showMessage(tr("Diagram saved to {path}").format(path=path), 8000)

        dialog.fileSelected.connect(chosen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_about(self) -> None:
        self.dialogs.show(AboutDialog(self))

    def show_log(self) -> None:
        viewer = LogViewer(self.session.tasks, self)
        self.dialogs.show(viewer)
        viewer.reload()

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
            # an int, or its text where the settings are an INI file
            interval = int(str(self.settings.value("status/interval", 15)))
            drift_minutes = int(str(self.settings.value("status/drift_minutes", DRIFT_MINUTES)))
            self.status.drift_interval.setValue(drift_minutes)
        self.status.interval.setValue(interval)
        self.poller.set_interval(interval)

    def save_settings(self) -> None:
        if self.settings is None:
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("inventory/last", str(self.session.inventory_path))
        self.settings.sync()

    # closing -------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.sync_flows.may_close(event):
            return
        running = [j for j in self.session.jobs if j.state is JobState.RUNNING]
        if running and not self._closing_confirmed:
            event.ignore()
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                tr("Jobs are running"),
                tr("{jobs} still running. Cancel them at their next safe point and quit?").format(
                    jobs=count(len(running), "job is", "jobs are")
                ),
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
        self._shown = False  # closed for good: nothing probes for it any more
        self.poller.stop()
        self.save_settings()
        self.sync_flows.stop_schedules()
        self.tray.hide()
        super().closeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._shown = True  # from now on probes go on, also while hidden in the tray
        if self.poller.cluster is not None and not self.poller.polling:
            self.poller.watch(self.poller.cluster)
        self._follow_fleet()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # dark mode switched while running
            forget_icons()
            forget_badges()
            self.commands.refresh_icons()  # the diagram redraws itself (TopologyView)
            if self.poller.health is not None:
                self.selection.health_updated(self.poller.health)
                self._health_changed(self.poller.health)
