"""The main window's commands come from one table (ui.window_actions): each is wired to a slot,
enabled by what it needs, placed in the menus, and an operator flow runs as a named task."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, get_args

import pytest
from PySide6.QtWidgets import QDockWidget, QMainWindow

from ui.window_actions import ACTIONS, ActionName, WindowActions


def build(window: QMainWindow, ran: list[str], spawned: list[str]) -> WindowActions:
    def slot(spec_name: str, task: str) -> Any:
        async def flow() -> None:
            ran.append(spec_name)

        return flow if task else (lambda: ran.append(spec_name))

    def spawn(work: Coroutine[object, object, object], what: str) -> None:
        spawned.append(what)
        work.close()

    slots = {spec.name: slot(spec.name, spec.task) for spec in ACTIONS}
    return WindowActions(window, slots, spawn)


def test_every_command_is_wired_enabled_by_its_needs_and_in_a_menu(qtbot: Any) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    ran: list[str] = []
    spawned: list[str] = []
    actions = build(window, ran, spawned)
    assert {spec.name for spec in ACTIONS} == set(get_args(ActionName))
    actions["zoom_in"].trigger()
    actions["add_server"].trigger()
    assert ran == ["zoom_in"] and spawned == ["adding a server"]

    actions.update(cluster=True, servers=True, server=False, sync=False)
    enabled = {spec.name for spec in ACTIONS if actions[spec.name].isEnabled()}
    assert "remove_server" not in enabled and "export_settings" not in enabled
    assert "synchronize" not in enabled and {"add_server", "verify", "about"} <= enabled
    assert "refresh" not in enabled  # nothing to probe through
    actions.update(cluster=False, servers=False, server=False, sync=True)
    assert not actions["synchronize"].isEnabled() and not actions["connect_server"].isEnabled()
    # a cluster without servers: nothing drawn to fit or export, nothing to probe or verify
    actions.update(cluster=True, servers=False, server=False, sync=True)
    for name in ("zoom_fit", "export_image", "refresh", "verify", "synchronize"):
        assert not actions[name].isEnabled(), name
    assert actions["add_server"].isEnabled()
    actions.update(cluster=True, servers=True, server=True, sync=True)
    assert all(actions[spec.name].isEnabled() for spec in ACTIONS)

    dock = QDockWidget("Jobs", window)
    actions.fill_menus(window.menuBar(), [dock])
    placed = []
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        for entry in menu.actions():
            placed += [sub for sub in entry.menu().actions()] if entry.menu() else [entry]
    assert all(actions[spec.name] in placed for spec in ACTIONS)
    assert dock.toggleViewAction() in placed


def test_a_command_without_its_slot_is_refused(qtbot: Any) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    slots = {spec.name: (lambda: None) for spec in ACTIONS if spec.name != "verify"}
    with pytest.raises(ValueError, match="verify"):
        WindowActions(window, slots, lambda work, what: None)
