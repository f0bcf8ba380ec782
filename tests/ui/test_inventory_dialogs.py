"""Inventory dialogs driven like an operator: inline errors on the wrong field as one types,
secrets only in the keyring, "Forget"."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialogButtonBox

from pmc import secrets
from pmc.inventory_file import load_inventory
from tests.ui.conftest import SEED_LIKE
from tests.ui.helpers import open_window, wait_dialog
from ui.cluster_dialog import ClusterDialog
from ui.server_dialog import ServerDialog
from ui.tasks import Tasks

pytestmark = pytest.mark.gui


def _ok(dialog: ServerDialog | ClusterDialog) -> object:
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_seed_typo_with_leading_zero_is_caught_while_typing(qtbot, loop) -> None:
    cluster = SEED_LIKE.clusters[0]
    dialog = ServerDialog(cluster, SEED_LIKE, Tasks())
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name.clear()
    qtbot.keyClicks(dialog.name, "backup2")
    qtbot.keyClicks(dialog.management, "192.168.1.018")
    error = dialog.errors["management_address"]
    assert error.isVisible()
    assert error.text().startswith("The address '192.168.1.018' has a number with a leading")
    assert dialog.management.property("invalid") is True

    # the whole message shows, under its field and above the next one (the dialog grows)
    def laid_out() -> None:
        assert error.height() >= error.needed_height(error.width())
        below = dialog.management.mapTo(dialog, dialog.management.rect().bottomLeft()).y()
        top = error.mapTo(dialog, QPoint(0, 0)).y()
        bottom = error.mapTo(dialog, error.rect().bottomLeft()).y()
        assert below <= top and bottom < dialog.redundancy.mapTo(dialog, QPoint(0, 0)).y()

    qtbot.waitUntil(laid_out)
    # a new server has nothing stored: its password field asks for one, naming the login
    assert dialog.secret.placeholderText() == "root's password on this server"
    dialog.user.setText("operator")
    assert dialog.secret.placeholderText() == "operator's password on this server"
    hint = dialog.secret_state
    assert hint.text().endswith("kept in the OS keyring only.")
    assert hint.height() >= hint.needed_height(hint.width())  # not cut at "kept in the"
    assert not _ok(dialog).isEnabled()
    assert not dialog.errors["name"].isVisible()
    dialog.management.clear()
    qtbot.keyClicks(dialog.management, "127.168.1.118")
    assert not error.isVisible()


def test_address_outside_the_peers_subnet_is_caught(qtbot, loop) -> None:
    from pmc.inventory import Architecture, Cluster, Inventory, Role, Server

    main = Server("main", "192.168.1.105", "172.17.59.128", Role.MAIN)
    cluster = Cluster("seed", Architecture.COMBINED, (main,))
    dialog = ServerDialog(cluster, Inventory((cluster,)), Tasks())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.name, "backup")
    qtbot.keyClicks(dialog.management, "192.158.1.105")  # the seed's typo; text only
    qtbot.keyClicks(dialog.redundancy, "172.17.59.129")
    error = dialog.errors["management_address"]
    assert error.isVisible(), dialog.general.text()
    assert "192.168.1" in error.text()
    assert not dialog.errors["redundancy_address"].isVisible()
    assert not _ok(dialog).isEnabled()


def test_duplicate_name_and_new_cluster_name(qtbot, loop) -> None:
    cluster = SEED_LIKE.clusters[0]
    dialog = ServerDialog(cluster, SEED_LIKE, Tasks())
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.name, "main")
    assert "already" in dialog.errors["name"].text()
    cdialog = ClusterDialog(SEED_LIKE)
    qtbot.addWidget(cdialog)
    qtbot.keyClicks(cdialog.name, "studio")
    assert "already" in cdialog.name_error.text()
    assert not _ok(cdialog).isEnabled()
    qtbot.keyClicks(cdialog.name, "-b")
    assert _ok(cdialog).isEnabled()
    assert "copy config" in cdialog.explanation.text()


def test_add_server_through_the_dialog_keeps_password_in_keyring_only(
    qtbot, loop, inventory_file: Path, memory_keyring
) -> None:
    window = open_window(qtbot, inventory_file)
    window.tree.select("studio")
    task = window.session.tasks.spawn(window.inventory_flows.add_server())
    dialog = wait_dialog(qtbot, ServerDialog)
    assert isinstance(dialog, ServerDialog)
    qtbot.keyClicks(dialog.name, "player1")
    qtbot.keyClicks(dialog.management, "127.168.1.111")
    dialog.role.setCurrentIndex(dialog.role.findText("player"))
    assert "player" in dialog.errors["role"].text()  # a combined cluster has no players
    dialog.reject()
    qtbot.waitUntil(task.done)
    assert task.result() is None
    window.tree.select("studio", "backup")
    await_remove = window.session.tasks.spawn(window.inventory_flows.remove_server())
    from PySide6.QtWidgets import QMessageBox

    box = wait_dialog(qtbot, QMessageBox)
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(await_remove.done)
    window.tree.select("studio")
    task = window.session.tasks.spawn(window.inventory_flows.add_server())
    dialog = wait_dialog(qtbot, ServerDialog)
    assert isinstance(dialog, ServerDialog)
    assert dialog.role.currentText().startswith("backup")  # the role the cluster lacks
    qtbot.keyClicks(dialog.name, "player1")
    qtbot.keyClicks(dialog.management, "127.168.1.111")
    qtbot.keyClicks(dialog.redundancy, "127.17.59.131")
    qtbot.keyClicks(dialog.secret, "s3cret-Pa55")
    assert _ok(dialog).isEnabled(), dialog.general.text()
    qtbot.mouseClick(_ok(dialog), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=10000)
    assert task.exception() is None
    saved = load_inventory(inventory_file).inventory
    assert [s.name for s in saved.cluster("studio").servers] == ["main", "player1"]
    assert "s3cret-Pa55" not in inventory_file.read_text()
    assert secrets.get_password("studio", "player1") == "s3cret-Pa55"
    assert window.tree.current() == ("studio", "player1")
    assert "player1" in window.topology.topology.nodes


def test_edit_shows_stored_secret_and_forget_deletes_it(
    qtbot, loop, inventory_file: Path, memory_keyring
) -> None:
    secrets.set_password("studio", "backup", "old-password")
    window = open_window(qtbot, inventory_file)
    window.tree.select("studio", "backup")
    task = window.session.tasks.spawn(window.inventory_flows.edit_server())
    dialog = wait_dialog(qtbot, ServerDialog)
    assert isinstance(dialog, ServerDialog)
    qtbot.waitUntil(lambda: "stored in the OS keyring" in dialog.secret_state.text())
    assert dialog.secret.text() == ""  # never read back into the field
    qtbot.mouseClick(dialog.forget, Qt.MouseButton.LeftButton)
    assert "will be deleted" in dialog.secret_state.text()
    qtbot.mouseClick(_ok(dialog), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=10000)
    assert task.exception() is None
    assert not secrets.has_password("studio", "backup")


def test_remove_server_asks_first(qtbot, loop, inventory_file: Path, memory_keyring) -> None:
    from PySide6.QtWidgets import QMessageBox

    window = open_window(qtbot, inventory_file)
    window.tree.select("studio", "backup")
    task = window.session.tasks.spawn(window.inventory_flows.remove_server())
    box = wait_dialog(qtbot, QMessageBox)
    assert "127.168.1.108" in box.text()
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=10000)
    assert task.result() is True
    assert [s.name for s in load_inventory(inventory_file).inventory.clusters[0].servers] == [
        "main"
    ]


def test_new_cluster_through_the_dialog(qtbot, loop, inventory_file: Path) -> None:
    window = open_window(qtbot, inventory_file)
    task = window.session.tasks.spawn(window.inventory_flows.new_cluster())
    dialog = wait_dialog(qtbot, ClusterDialog)
    assert isinstance(dialog, ClusterDialog)
    qtbot.keyClicks(dialog.name, "playout-b")
    dialog.architecture.setCurrentIndex(dialog.architecture.findText("Admin and Player cluster"))
    assert "UDP 161" in dialog.explanation.text()
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)
    qtbot.waitUntil(task.done, timeout=10000)
    names = [c.name for c in load_inventory(inventory_file).inventory.clusters]
    assert names == ["studio", "playout-b"]
