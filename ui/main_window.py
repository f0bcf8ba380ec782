"""The main window: menus, the cluster tree (left), the topology (centre), the status table,
the jobs panel and the sync panel (docked below), and the tray icon. It wires widgets together
and starts work on the loop; the work itself is pmc's.

With a sync runner that has schedules or running syncs, closing the window can keep PMC
alive in the tray (asked once, remembered in QSettings ``tray/on_close``); Quit in the tray
menu cancels the runner's jobs and schedules, then quits."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QToolBar,
    QWidget,
)

from pmc import secrets
from pmc.inventory import Cluster, Inventory, Server
from pmc.jobs import Job
from pmc.remote.errors import HostKeyChanged
from pmc.status import ClusterStatus, DriftCache
from pmc.sync.runner import SyncRunner
from ui import placeholder_dialogs
from ui.about_dialog import AboutDialog
from ui.async_dialog import ask
from ui.cluster_dialog import ClusterDialog
from ui.cluster_tree import ClusterTree
from ui.error_dialog import show_error
from ui.host_key_dialog import warn_changed_key
from ui.icons import app_icon, icon
from ui.jobs_panel import JobsPanel
from ui.main_window_sync import SyncWindowMixin
from ui.server_dialog import ServerDialog, ServerEdit
from ui.session import Session
from ui.status_panel import StatusPanel
from ui.status_poller import StatusPoller
from ui.sync_panel import SyncPanel, make_runner
from ui.topology_view import TopologyView
from ui.tray import SyncTray

DRIFT_MINUTES = 5  # default interval of the status table's drift column


class MainWindow(SyncWindowMixin, QMainWindow):
    def __init__(self, session: Session, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.session = session
        self.settings = settings
        self.setWindowTitle("Playout Management Console")
        self.setWindowIcon(app_icon())
        self.resize(1280, 820)
        self.setDockNestingEnabled(True)
        session.tasks.on_error = lambda what, exc: show_error(self, what, exc)

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

    def _action(
        self,
        text: str,
        slot: Any,
        *,
        icon_name: str | None = None,
        shortcut: QKeySequence | str | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(icon(icon_name) if icon_name else icon("none"), text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _spawn(self, what: str, coro_fn: Any) -> Any:
        return lambda *_: self.session.tasks.spawn(coro_fn(), what=what)

    def _make_actions(self) -> None:
        a = self._action
        s = self._spawn
        self.add_server = a(
            "&Add…",
            s("adding a server", self.add_server_flow),
            icon_name="server-add",
            shortcut="Ctrl+Shift+A",
            tip="Add a Playout server to the selected cluster",
        )
        self.edit_server = a(
            "&Edit…",
            s("editing a server", self.edit_server_flow),
            icon_name="edit",
            shortcut="Ctrl+E",
            tip="Edit the selected server or cluster",
        )
        self.remove_server = a(
            "&Remove",
            s("removing a server", self.remove_server_flow),
            icon_name="remove",
            shortcut=QKeySequence.StandardKey.Delete,
            tip="Remove the selected server from the inventory",
        )
        self.connect_server = a(
            "&Connect",
            s("connecting", self.connect_flow),
            icon_name="connect",
            shortcut="Ctrl+Shift+C",
            tip="Connect to the selected server (or every server of the "
            "cluster) and check its host key",
        )
        self.export_settings = a(
            "&Export…",
            lambda: self._placeholder("export"),
            icon_name="export",
            tip="Export the server's Playout configuration to a bundle",
        )
        self.import_settings = a(
            "&Import…",
            lambda: self._placeholder("import"),
            icon_name="import",
            tip="Import a configuration bundle into the server",
        )
        self.quit = a("&Quit", self.close, icon_name="quit", shortcut=QKeySequence.StandardKey.Quit)
        self.new_cluster = a(
            "&New…",
            s("creating a cluster", self.new_cluster_flow),
            icon_name="cluster-new",
            shortcut=QKeySequence.StandardKey.New,
            tip="Describe a new cluster of Playout servers",
        )
        self.setup_redundancy = a(
            "Setup &redundancy…",
            self.open_wizard,
            icon_name="redundancy",
            shortcut="Ctrl+R",
            tip="Plan, apply and verify the cluster's redundancy",
        )
        self.verify = a(
            "&Verify",
            s("verifying", self.verify_flow),
            icon_name="verify",
            shortcut="Ctrl+Shift+V",
            tip="Run the seed's checks on the cluster",
        )
        self.synchronize = a(
            "&Synchronize all servers",
            self.synchronize_now,
            icon_name="sync",
            shortcut="Ctrl+Shift+Y",
            tip="Bring backup in line with main (only what differs), in the sync panel",
        )
        self.refresh = a(
            "&Refresh status",
            self._refresh_now,
            icon_name="refresh",
            shortcut=QKeySequence.StandardKey.Refresh,
            tip="Probe every server of the cluster now",
        )
        self.zoom_in = a(
            "Zoom &in",
            self.topology.zoom_in,
            icon_name="zoom-in",
            shortcut=QKeySequence.StandardKey.ZoomIn,
        )
        self.zoom_out = a(
            "Zoom &out",
            self.topology.zoom_out,
            icon_name="zoom-out",
            shortcut=QKeySequence.StandardKey.ZoomOut,
        )
        self.zoom_fit = a(
            "&Fit to window", self.topology.fit, icon_name="zoom-fit", shortcut="Ctrl+0"
        )
        self.export_image = a(
            "E&xport diagram…",
            self.export_diagram_flow,
            icon_name="image",
            shortcut="Ctrl+Shift+S",
            tip="Save the topology as PNG or SVG",
        )
        self.about = a("&About PMC", self.show_about, icon_name="about")

    def _make_menus(self) -> None:
        bar = self.menuBar()
        server = bar.addMenu("&Server")
        server.addActions([self.add_server, self.edit_server, self.remove_server])
        server.addSeparator()
        server.addAction(self.connect_server)
        server.addSeparator()
        settings: QMenu = server.addMenu(icon("settings"), "Se&ttings")
        settings.addActions([self.export_settings, self.import_settings])
        server.addSeparator()
        server.addAction(self.quit)
        cluster = bar.addMenu("&Cluster")
        cluster.addActions([self.new_cluster, self.setup_redundancy, self.verify, self.synchronize])
        view = bar.addMenu("&View")
        for dock in (self.tree_dock, self.status_dock, self.jobs_dock, self.sync_dock):
            if dock is not None:
                view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addActions(
            [self.refresh, self.zoom_in, self.zoom_out, self.zoom_fit, self.export_image]
        )
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about)

    def _make_toolbar(self) -> None:
        tools = QToolBar("Main toolbar", self)
        tools.setObjectName("mainToolbar")
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.new_cluster.setIconText("New cluster")
        self.add_server.setIconText("Add server")
        for action in (self.new_cluster, self.add_server, self.connect_server):
            tools.addAction(action)
        tools.addSeparator()
        for action in (self.setup_redundancy, self.verify, self.synchronize):
            tools.addAction(action)
        tools.addSeparator()
        for action in (self.refresh, self.zoom_fit, self.export_image):
            tools.addAction(action)
        self.addToolBar(tools)
        self.toolbar = tools

    # selection -----------------------------------------------------------------------------
    def current_cluster(self) -> Cluster | None:
        current = self.tree.current()
        if current is None:
            return self.session.inventory.clusters[0] if self.session.inventory.clusters else None
        return self.session.cluster(current[0])

    def current_server(self) -> Server | None:
        current = self.tree.current()
        if current is None or current[1] is None:
            return None
        return self.session.server(current[0], current[1])

    def _inventory_changed(self) -> None:
        self.tree.populate(self.session.inventory)
        self._show(self.current_cluster())
        self._update_actions()
        self._apply_schedules()

    def _show(self, cluster: Cluster | None) -> None:
        self._follow_cluster(cluster)
        if cluster != self.topology.topology.cluster:
            self.topology.show_cluster(cluster)
            self.status.show_cluster(cluster)
        self.poller.watch(cluster)
        if self.poller.last is not None:
            self._status_updated(self.poller.last)

    def _cluster_selected(self, name: str) -> None:
        self._show(self.session.cluster(name))
        self._update_actions()

    def _follow_cluster(self, cluster: Cluster | None) -> None:
        if self.sync is not None and (cluster is None or cluster.name != self.sync.cluster):
            self.sync.set_cluster(cluster.name if cluster else None)

    def _server_selected(self, cluster: str, server: str) -> None:
        self._show(self.session.cluster(cluster))
        self.topology.topology.select("server", server)
        self.status.select_server(server)
        self._update_actions()

    def _topology_activated(self, kind: str, key: str) -> None:
        cluster = self.current_cluster()
        if cluster is None:
            return
        server = key if kind == "server" else key.rsplit(":", maxsplit=1)[-1]
        self.tree.blockSignals(True)
        self.tree.select(cluster.name, server)
        self.tree.blockSignals(False)
        self.status.select_server(server)
        self._update_actions()

    def _status_server_activated(self, server: str) -> None:
        cluster = self.current_cluster()
        if cluster is None:
            return
        self.tree.blockSignals(True)
        self.tree.select(cluster.name, server)
        self.tree.blockSignals(False)
        self.topology.topology.select("server", server)
        self._update_actions()

    def _status_updated(self, status: ClusterStatus) -> None:
        self.topology.topology.apply_status(status)
        self.status.apply_status(status)

    def _update_actions(self) -> None:
        has_cluster = self.current_cluster() is not None
        has_server = self.current_server() is not None
        self.add_server.setEnabled(has_cluster)
        self.edit_server.setEnabled(has_cluster)
        self.remove_server.setEnabled(has_server)
        self.connect_server.setEnabled(has_cluster)
        self.export_settings.setEnabled(has_server)
        self.import_settings.setEnabled(has_server)
        for action in (self.setup_redundancy, self.verify, self.refresh):
            action.setEnabled(has_cluster)
        self.synchronize.setEnabled(has_cluster and self.runner is not None)
        self.status.sync_button.setEnabled(self.synchronize.isEnabled())
        self.tray.sync_action.setEnabled(self.synchronize.isEnabled())

    def _refresh_now(self) -> None:
        self.poller.refresh()

    def _interval_changed(self, seconds: int) -> None:
        self.poller.set_interval(seconds)
        if self.settings is not None:
            self.settings.setValue("status/interval", seconds)

    def _drift_interval_changed(self, minutes: int) -> None:
        if self.drift is not None:
            self.drift.interval = minutes * 60
        if self.settings is not None:
            self.settings.setValue("status/drift_minutes", minutes)

    def _job_started(self, job: Job[Any]) -> None:
        if job.kind != "sync":
            self.jobs_dock.raise_()

    # inventory flows -----------------------------------------------------------------------
    async def new_cluster_flow(self) -> Cluster | None:
        dialog = ClusterDialog(self.session.inventory, parent=self)
        if await ask(dialog) != QDialog.DialogCode.Accepted:
            return None
        cluster = dialog.result_cluster()
        inventory = Inventory((*self.session.inventory.clusters, cluster))
        await self.session.save(inventory)
        self.tree.select(cluster.name)
        return cluster

    async def add_server_flow(self) -> Server | None:
        cluster = self.current_cluster()
        if cluster is None:
            cluster = await self.new_cluster_flow()
            if cluster is None:
                return None
        dialog = ServerDialog(cluster, self.session.inventory, self.session.tasks, parent=self)
        self.last_dialog: QDialog = dialog
        if await ask(dialog) != QDialog.DialogCode.Accepted:
            return None
        edit = dialog.result_edit()
        await self._store_server(cluster, None, edit)
        return edit.server

    async def edit_server_flow(self) -> Server | None:
        cluster = self.current_cluster()
        server = self.current_server()
        if cluster is None:
            return None
        if server is None:
            dialog_c = ClusterDialog(self.session.inventory, cluster=cluster, parent=self)
            self.last_dialog = dialog_c
            if await ask(dialog_c) != QDialog.DialogCode.Accepted:
                return None
            changed = dialog_c.result_cluster()
            await self.session.save(_replace_cluster(self.session.inventory, cluster.name, changed))
            return None
        dialog = ServerDialog(
            cluster, self.session.inventory, self.session.tasks, server=server, parent=self
        )
        self.last_dialog = dialog
        if await ask(dialog) != QDialog.DialogCode.Accepted:
            return None
        edit = dialog.result_edit()
        await self._store_server(cluster, server, edit)
        return edit.server

    async def _store_server(self, cluster: Cluster, old: Server | None, edit: ServerEdit) -> None:
        """Secrets to the keyring first (the file never holds one), then the inventory."""
        name = edit.server.name
        if edit.forget and old is not None:
            await secrets.forget_server_async(cluster.name, old.name)
        if edit.secret:
            kind = (
                secrets.SecretKind.KEY_PASSPHRASE
                if edit.server.auth.value == "key"
                else secrets.SecretKind.SSH_PASSWORD
            )
            await secrets.set_secret_async(kind, cluster.name, name, edit.secret)
        elif old is not None and old.name != name and not edit.forget:
            for kind in secrets.SecretKind:
                value = await secrets.get_secret_async(kind, cluster.name, old.name)
                if value:
                    await secrets.set_secret_async(kind, cluster.name, name, value)
            await secrets.forget_server_async(cluster.name, old.name)
        servers = [s for s in cluster.servers if old is None or s.name != old.name]
        servers.append(edit.server)
        changed = dataclasses.replace(cluster, servers=tuple(servers))
        await self.session.save(_replace_cluster(self.session.inventory, cluster.name, changed))
        self.tree.select(cluster.name, name)

    async def remove_server_flow(self) -> bool:
        cluster, server = self.current_cluster(), self.current_server()
        if cluster is None or server is None:
            return False
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove server",
            f"Remove {server.name} ({server.management_address}) from cluster "
            f"{cluster.name}? Its stored password is deleted from the keyring. "
            "Nothing changes on the server itself.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("removeServerQuestion")
        self.last_dialog = box
        if await ask(box) != QMessageBox.StandardButton.Yes:
            return False
        await secrets.forget_server_async(cluster.name, server.name)
        changed = dataclasses.replace(
            cluster, servers=tuple(s for s in cluster.servers if s.name != server.name)
        )
        await self.session.save(_replace_cluster(self.session.inventory, cluster.name, changed))
        return True

    # servers -------------------------------------------------------------------------------
    async def connect_flow(self) -> dict[str, str]:
        """Connect to the selected server (or all of the cluster); returns name → outcome."""
        cluster = self.current_cluster()
        if cluster is None:
            return {}
        server = self.current_server()
        targets = [server] if server else list(cluster.servers)
        self.session.forget_refusals()
        outcome: dict[str, str] = {}
        for target in targets:
            try:
                await self.session.connect(cluster, target)
            except HostKeyChanged as exc:
                outcome[target.name] = "host key changed"
                await self._warn_changed(exc, cluster, target)
            except Exception as exc:  # shown in the status bar and the dialog
                outcome[target.name] = str(exc)
                show_error(self, f"connecting to {target.name}", exc)
            else:
                outcome[target.name] = "connected"
        self.statusBar().showMessage("; ".join(f"{k}: {v}" for k, v in outcome.items()), 10000)
        self.poller.refresh()
        return outcome

    def _host_key_changed(self, cluster: str, server: str, error: HostKeyChanged) -> None:
        key = f"{cluster}/{server}/{error.new_fingerprint}"
        if key in self._warned:
            return
        found = self.session.server(cluster, server)
        found_cluster = self.session.cluster(cluster)
        if found is None or found_cluster is None:
            return
        self.session.tasks.spawn(
            self._warn_changed(error, found_cluster, found), what="host key warning"
        )

    async def _warn_changed(self, error: HostKeyChanged, cluster: Cluster, server: Server) -> None:
        self._warned.add(f"{cluster.name}/{server.name}/{error.new_fingerprint}")
        if await warn_changed_key(error, self):
            await self.session.forget_host_key(server)
            self._warned.discard(f"{cluster.name}/{server.name}/{error.new_fingerprint}")
            self.statusBar().showMessage(
                f"The old key of {server.name} was forgotten. Connect to trust the new one.", 10000
            )

    # cluster actions -----------------------------------------------------------------------
    def open_wizard(self) -> None:
        cluster = self.current_cluster()
        if cluster is None:
            return
        from ui.wizard.setup_wizard import SetupWizard

        wizard = SetupWizard(self.session, cluster, parent=self)
        self.wizard = wizard
        wizard.open()

    async def verify_flow(self) -> None:
        cluster = self.current_cluster()
        if cluster is None:
            return
        job = self.session.verify_job(cluster)
        if job is None:
            show_error(self, "verifying", RuntimeError("the setup engine is not available"))
            return
        self.session.run_job(job)

    def _placeholder(self, what: str) -> None:
        cluster = self.current_cluster()
        server = self.current_server()
        dialog = placeholder_dialogs.FACTORIES[what](
            self, cluster.name if cluster else None, server.name if server else None
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_dialog = dialog
        dialog.open()

    def export_diagram_flow(self) -> None:
        cluster = self.current_cluster()
        dialog = QFileDialog(self, "Export the topology diagram")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["PNG image (*.png)", "SVG drawing (*.svg)"])
        dialog.setDefaultSuffix("png")
        dialog.selectFile(f"{cluster.name if cluster else 'cluster'}-topology.png")

        def chosen(path: str) -> None:
            try:
                self.topology.export(Path(path))
            except OSError as exc:
                show_error(self, "exporting the diagram", exc)
            else:
                self.statusBar().showMessage(f"Diagram saved to {path}", 8000)

        dialog.fileSelected.connect(chosen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_about(self) -> None:
        dialog = AboutDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_dialog = dialog
        dialog.open()

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
            interval = int(self.settings.value("status/interval", 15))  # type: ignore[call-overload]
            drift_minutes = int(
                self.settings.value("status/drift_minutes", DRIFT_MINUTES)  # type: ignore[arg-type]
            )
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

    def showEvent(self, event: object) -> None:  # type: ignore[override]
        super().showEvent(event)  # type: ignore[arg-type]
        if self.poller.cluster is not None:
            self.poller.watch(self.poller.cluster)

    def hideEvent(self, event: object) -> None:  # type: ignore[override]
        super().hideEvent(event)  # type: ignore[arg-type]
        if not self.isVisible():
            self.poller.stop()


def _replace_cluster(inventory: Inventory, name: str, cluster: Cluster) -> Inventory:
    return Inventory(tuple(cluster if c.name == name else c for c in inventory.clusters))
