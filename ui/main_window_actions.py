"""The main window's actions, menus and toolbar (a mixin of :class:`ui.main_window.MainWindow`):
every command the operator can give, with its icon, shortcut and tooltip, placed in the menus
(*Server*, *Cluster*, *View*, *Help*) and the toolbar, and enabled by what is selected."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QMenu,
    QToolBar,
)

from ui.icons import icon
from ui.main_window_base import WindowBase


class ActionsMixin(WindowBase):
    """Methods only; the widgets and flows they wire are the main window's."""

    def _action(
        self,
        text: str,
        slot: Any,
        *,
        icon_name: str | None = None,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
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
