"""The main window's shared shape, for the type checker: the attributes that
:class:`ui.main_window.MainWindow` builds and the methods one mixin calls on another
(:mod:`ui.main_window_actions`, :mod:`ui.main_window_selection`, :mod:`ui.main_window_flows`,
:mod:`ui.main_window_sync`). The mixins derive from :class:`WindowBase`, so ``self`` is a
``QMainWindow`` with these attributes; at run time the class adds nothing to ``QMainWindow``
(annotations only, the method declarations exist only for the type checker)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QMainWindow

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QDialog, QDockWidget, QLabel, QToolBar

    from pmc.inventory import Cluster, Server
    from pmc.jobs import Job
    from pmc.status import DriftCache
    from pmc.sync.runner import SyncRunner
    from ui.cluster_tree import ClusterTree
    from ui.jobs_panel import JobsPanel
    from ui.session import Session
    from ui.status_panel import StatusPanel
    from ui.status_poller import StatusPoller
    from ui.sync_panel import SyncPanel
    from ui.topology_view import TopologyView
    from ui.tray import SyncTray
    from ui.wizard.setup_wizard import SetupWizard


class WindowBase(QMainWindow):
    """Annotations only: what the main window's mixins may use of one another."""

    # built by MainWindow.__init__
    session: Session
    settings: QSettings | None
    tree: ClusterTree
    topology: TopologyView
    status: StatusPanel
    jobs: JobsPanel
    runner: SyncRunner | None
    drift: DriftCache | None
    sync: SyncPanel | None
    poller: StatusPoller
    tray: SyncTray
    quit_app: Any
    _quitting: bool
    _schedules_stopped: bool
    tree_dock: QDockWidget
    status_dock: QDockWidget
    jobs_dock: QDockWidget
    sync_dock: QDockWidget | None
    state_label: QLabel
    tray_keep: QAction
    _warned: set[str]
    # set by the flows (tests look at them)
    last_dialog: QDialog
    wizard: SetupWizard
    # built by ActionsMixin._make_actions / _make_toolbar
    add_server: QAction
    edit_server: QAction
    remove_server: QAction
    connect_server: QAction
    export_settings: QAction
    import_settings: QAction
    quit: QAction
    new_cluster: QAction
    setup_redundancy: QAction
    verify: QAction
    synchronize: QAction
    refresh: QAction
    zoom_in: QAction
    zoom_out: QAction
    zoom_fit: QAction
    export_image: QAction
    about: QAction
    toolbar: QToolBar

    if TYPE_CHECKING:
        # MainWindow
        def save_settings(self) -> None: ...

        # ActionsMixin
        def _update_actions(self) -> None: ...

        # SelectionMixin
        def current_cluster(self) -> Cluster | None: ...
        def current_server(self) -> Server | None: ...
        def _follow_cluster(self, cluster: Cluster | None) -> None: ...
        def _refresh_now(self) -> None: ...

        # FlowsMixin
        async def new_cluster_flow(self) -> Cluster | None: ...
        async def add_server_flow(self) -> Server | None: ...
        async def edit_server_flow(self) -> Server | None: ...
        async def remove_server_flow(self) -> bool: ...
        async def connect_flow(self) -> dict[str, str]: ...
        async def verify_flow(self) -> None: ...
        def open_wizard(self) -> None: ...
        def _placeholder(self, what: str) -> None: ...
        def export_diagram_flow(self) -> None: ...
        def show_about(self) -> None: ...

        # SyncWindowMixin
        def synchronize_now(self) -> Job[object] | None: ...
        def _apply_schedules(self) -> None: ...
