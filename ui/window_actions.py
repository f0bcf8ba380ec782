"""Every command of the main window, as data: :data:`ACTIONS` (text, icon, shortcut, tooltip,
what must be selected, and — for the operator's flows, which run as tasks — the task's name),
:data:`MENUS` and :data:`TOOLBAR` (where each command is placed). :class:`WindowActions`
builds the QActions from them and wires each to the slot the window gives for its name."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QMenuBar, QToolBar

from .icons import icon
from .translation import tr

ActionName = Literal[
    "add_server", "edit_server", "remove_server", "connect_server", "replace_host_key",
    "export_settings", "import_settings", "quit", "new_cluster", "setup_redundancy", "verify",
    "synchronize", "switch_over", "history", "refresh", "zoom_in", "zoom_out", "zoom_fit",
    "export_image", "about", "show_log", "import_inventory", "show_fleet",
]  # fmt: skip
Needs = Literal["cluster", "servers", "probes", "server", "sync", "nothing"]
"""What an action needs to be enabled: a selected cluster, a selected cluster with servers
(something drawn), servers and the SSH transport (something to probe), a selected server, a
selected cluster with servers and the sync runner, or nothing."""

Key = QKeySequence.StandardKey
Slot = Callable[[], object]
"""What an action runs: a function, or (for an action with a ``task``) a coroutine function
started as a task of that name."""


@dataclass(frozen=True)
class ActionSpec:
    name: ActionName
    text: str
    icon: str
    shortcut: Key | str | None = None
    tip: str = ""
    needs: Needs = "nothing"
    task: str = ""  # the slot is a coroutine function, run as a task with this name
    icon_text: str = ""  # the toolbar's shorter label


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("add_server", "&Add…", "server-add", "Ctrl+Shift+A",
               "Add a Playout server to the selected cluster", "cluster", "adding a server",
               "Add server"),
    ActionSpec("edit_server", "&Edit…", "edit", "Ctrl+E",
               "Edit the selected server or cluster", "cluster", "editing a server"),
    ActionSpec("remove_server", "&Remove", "remove", Key.Delete,
               "Remove the selected server from the inventory", "server", "removing a server"),
    ActionSpec("connect_server", "&Connect", "connect", "Ctrl+Shift+C",
               "Connect to the selected server (or every server of the cluster) and check its"
               " host key", "cluster", "connecting"),
    ActionSpec("replace_host_key", "&Replace…", "key", None,
               "Trust the selected server's new SSH host key (after it was reinstalled),"
               " checked against the fingerprint read on its console", "server",
               "replacing a host key"),
    ActionSpec("export_settings", "&Export…", "export", None,
               "Export the server's Playout configuration to a bundle", "server"),
    ActionSpec("import_settings", "&Import…", "import", None,
               "Import a configuration bundle into the server", "server"),
    ActionSpec("quit", "&Quit", "quit", Key.Quit),
    ActionSpec("new_cluster", "&New…", "cluster-new", Key.New,
               "Describe a new cluster of Playout servers", "nothing", "creating a cluster",
               "New cluster"),
    ActionSpec("setup_redundancy", "Setup &redundancy…", "redundancy", "Ctrl+R",
               "Plan, apply and verify the cluster's redundancy", "cluster"),
    ActionSpec("verify", "&Verify", "verify", "Ctrl+Shift+V",
               "Run the checks of the vendor's manual on the cluster", "servers", "verifying"),
    ActionSpec("synchronize", "&Synchronize all servers", "sync", "Ctrl+Shift+Y",
               "Copy from the active server to the other (only what differs), in the sync"
               " panel", "sync"),
    ActionSpec("switch_over", "Switch &over…", "redundancy", None,
               "Make the other server the cluster's active one (syncs then copy from it)",
               "sync"),
    ActionSpec("history", "&History", "jobs", None,
               "What PMC did to the cluster's servers, from every desktop", "cluster"),
    ActionSpec("refresh", "&Refresh status", "refresh", Key.Refresh,
               "Probe every server of the cluster now", "probes"),
    ActionSpec("zoom_in", "Zoom &in", "zoom-in", Key.ZoomIn, "", "servers"),
    ActionSpec("zoom_out", "Zoom &out", "zoom-out", Key.ZoomOut, "", "servers"),
    ActionSpec("zoom_fit", "&Fit to window", "zoom-fit", "Ctrl+0",
               "Show the whole diagram", "servers"),
    ActionSpec("export_image", "E&xport diagram…", "image", "Ctrl+Shift+S",
               "Save the topology as PNG or SVG", "servers"),
    ActionSpec("import_inventory", "&Import an inventory…", "import", None,
               "Add the clusters of an inventory file written by PMC elsewhere", "nothing",
               "importing an inventory"),
    ActionSpec("show_log", "Show &log", "log", None,
               "PMC's log file, read only, with a filter"),
    ActionSpec("about", "&About PMC", "about"),
    ActionSpec("show_fleet", "&All clusters", "cluster", "Ctrl+Shift+L",
               "Every cluster at a glance: health, active server, last sync, problems first"),
)  # fmt: skip

SEPARATOR = None


@dataclass(frozen=True)
class Docks:
    """The View menu's place for each dock's show/hide action."""


DOCKS = Docks()


@dataclass(frozen=True)
class Submenu:
    title: str
    icon: str
    items: tuple[ActionName, ...]


MenuItem = ActionName | Submenu | Docks | None

MENUS: tuple[tuple[str, tuple[MenuItem, ...]], ...] = (
    ("&Server", ("add_server", "edit_server", "remove_server", SEPARATOR, "connect_server",
                 Submenu("&Host key", "key", ("replace_host_key",)),
                 SEPARATOR, Submenu("Se&ttings", "settings", ("export_settings",
                                                              "import_settings")),
                 SEPARATOR, "quit")),
    ("&Cluster", ("new_cluster", "import_inventory", SEPARATOR, "setup_redundancy", "verify",
                  "synchronize", SEPARATOR, "switch_over", "history")),
    ("&View", (DOCKS, SEPARATOR, "show_fleet", "refresh", "zoom_in", "zoom_out", "zoom_fit",
               "export_image")),
    ("&Help", ("show_log", SEPARATOR, "about")),
)  # fmt: skip

TOOLBAR: tuple[ActionName | None, ...] = (
    "new_cluster", "add_server", "connect_server", SEPARATOR,
    "setup_redundancy", "verify", "synchronize", SEPARATOR,
    "refresh", "zoom_fit", "export_image",
)  # fmt: skip


class WindowActions:
    """The QActions of :data:`ACTIONS`, each wired to ``slots[name]``; ``spawn(coroutine,
    what)`` starts the task of an action that has one."""

    def __init__(
        self,
        parent: QObject,
        slots: Mapping[ActionName, Slot],
        spawn: Callable[[Coroutine[object, object, object], str], object],
    ) -> None:
        unwired = set(get_args(ActionName)) ^ set(slots)
        if unwired:
            raise ValueError(f"actions without a slot, or slots without an action: {unwired}")
        self.specs = {spec.name: spec for spec in ACTIONS}
        self._actions: dict[ActionName, QAction] = {}
        for spec in ACTIONS:
            action = QAction(icon(spec.icon), tr(spec.text), parent)
            if spec.shortcut is not None:
                action.setShortcut(QKeySequence(spec.shortcut))
            if spec.tip:
                action.setToolTip(tr(spec.tip))
                action.setStatusTip(tr(spec.tip))
            if spec.icon_text:
                action.setIconText(tr(spec.icon_text))
            action.triggered.connect(_runner(slots[spec.name], spec.task, spawn))
            self._actions[spec.name] = action

    def __getitem__(self, name: ActionName) -> QAction:
        return self._actions[name]

    def refresh_icons(self) -> None:
        """Set every icon again (they are drawn for the palette: after a palette change)."""
        for spec in ACTIONS:
            self._actions[spec.name].setIcon(icon(spec.icon))

    def update(self, *, cluster: bool, servers: bool, server: bool, sync: bool) -> None:
        """Enable each action by what it needs: what is selected (a cluster, one with
        servers, a server) and whether PMC can reach servers and sync."""
        have: dict[Needs, bool] = {
            "cluster": cluster,
            "servers": cluster and servers,
            "probes": cluster and servers and sync,
            "server": server,
            "sync": cluster and servers and sync,
            "nothing": True,
        }
        for spec in ACTIONS:
            self._actions[spec.name].setEnabled(have[spec.needs])

    def fill_menus(self, bar: QMenuBar, docks: Sequence[QDockWidget]) -> None:
        for title, items in MENUS:
            menu = bar.addMenu(tr(title))
            for item in items:
                if item is SEPARATOR:
                    menu.addSeparator()
                elif isinstance(item, Docks):
                    menu.addActions([dock.toggleViewAction() for dock in docks])
                elif isinstance(item, Submenu):
                    submenu: QMenu = menu.addMenu(icon(item.icon), tr(item.title))
                    submenu.addActions([self._actions[name] for name in item.items])
                else:
                    menu.addAction(self[item])

    def toolbar(self, window: QMainWindow) -> QToolBar:
        tools = QToolBar(tr("Main toolbar"), window)
        tools.setObjectName("mainToolbar")
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for name in TOOLBAR:
            if name is None:
                tools.addSeparator()
            else:
                tools.addAction(self._actions[name])
        window.addToolBar(tools)
        return tools


def _runner(
    slot: Slot, task: str, spawn: Callable[[Coroutine[object, object, object], str], object]
) -> Callable[..., None]:
    def run(*_: object) -> None:
        result = slot()
        if task:
            assert isinstance(result, Coroutine)
            spawn(result, task)

    return run
