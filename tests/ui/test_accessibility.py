"""Every control an operator can reach with the keyboard has a name a screen reader says (its
text, an accessible name, or the label it is the buddy of), in the main window, the sync
panel (its direction and a refused sync's prompt), the setup wizard and every dialog
(switchover and history included); the server dialog's Tab follows its form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from pmc.remote.errors import HostKeyChanged, UnknownHostKey
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool
from pmc.sync.newer_changes import TargetChanges
from pmc.sync.runner import SyncRequest
from tests.ui.helpers import open_window
from ui.cluster_dialog import ClusterDialog
from ui.export_dialog import ExportDialog
from ui.history_dialog import HistoryDialog
from ui.host_key_dialog import ChangedHostKeyDialog, NewHostKeyDialog, ReplaceHostKeyDialog
from ui.import_dialog import ImportDialog
from ui.log_viewer import LogViewer
from ui.server_dialog import ServerDialog
from ui.switchover_dialog import SwitchoverDialog
from ui.sync_refusal import SyncRefusal

pytestmark = pytest.mark.gui

FINGERPRINT = "SHA256:" + "A" * 43
FIELDS = (QLineEdit, QComboBox, QAbstractSpinBox, QAbstractItemView, QPlainTextEdit, QTextEdit)


def unnamed(root: QWidget) -> list[str]:
    """The keyboard-reachable controls under ``root`` that nothing names."""
    buddies = {id(label.buddy()) for label in root.findChildren(QLabel) if label.buddy()}
    found = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisibleTo(root) or widget.focusPolicy() == Qt.FocusPolicy.NoFocus:
            continue
        if isinstance(widget, QAbstractButton):
            named = widget.text().strip() or widget.accessibleName() or widget.toolTip()
        elif isinstance(widget, FIELDS):
            if isinstance(widget.parent(), (QComboBox, QAbstractSpinBox)):
                continue  # the editor inside a combo box or a spin box: its owner is named
            named = widget.accessibleName() or id(widget) in buddies
        else:
            continue
        if not named:
            found.append(f"{type(widget).__name__} {widget.objectName()!r}")
    return found


def test_every_control_has_a_name(
    qtbot: Any, loop: Any, inventory_file: Path, tmp_path: Path
) -> None:
    pool = ConnectionPool(known_hosts=KnownHosts(tmp_path / "known_hosts"))
    window = open_window(qtbot, inventory_file, pool=pool)
    window.poller.stop()
    session = window.session
    cluster = window.selection.current_cluster()
    assert cluster is not None
    missing = {"main window": unnamed(window)}
    window.sync_flows.show_sync_panel()
    missing["sync panel"] = unnamed(window)
    switchover = SwitchoverDialog(session, cluster, window)
    history = HistoryDialog(session, "studio", window)
    changes = TargetChanges("main", "backup", None, 12, ("a", "b", "c"), 1, ("/d",))
    dialogs = {
        "server": ServerDialog(cluster, session.inventory, session.tasks),
        "switchover": switchover,
        "history": history,
        "refused sync": SyncRefusal(SyncRequest("studio"), changes),
        "cluster": ClusterDialog(session.inventory),
        "export": ExportDialog(session, "studio", "main", window),
        "import": ImportDialog(session, "studio", "backup", window),
        "log": LogViewer(session.tasks, window),
        "new host key": NewHostKeyDialog(UnknownHostKey(
            server="backup", key_type="ssh-ed25519", fingerprint=FINGERPRINT,
            host_id="127.168.1.108"), window),
        "changed host key": ChangedHostKeyDialog(HostKeyChanged(
            server="backup", key_type="ssh-ed25519", old_fingerprint=FINGERPRINT,
            new_fingerprint=FINGERPRINT.replace("A", "B"), new_key_type="ecdsa-sha2-nistp256",
        ), window),
        "replace host key": ReplaceHostKeyDialog("backup (127.168.1.108)", window),
    }  # fmt: skip
    for name, dialog in dialogs.items():
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        missing[name] = unnamed(dialog)
        dialog.close()
    qtbot.waitUntil(history.refresh_button.isEnabled)  # their reads ended (no servers)
    qtbot.waitUntil(lambda: not switchover.details.toPlainText().startswith("Planning"))
    window.commands["setup_redundancy"].trigger()
    wizard = window.setup_flows.wizard
    assert wizard is not None
    qtbot.waitExposed(wizard)
    missing["wizard: cluster"] = unnamed(wizard)
    wizard.next()
    missing["wizard: options"] = unnamed(wizard)
    wizard.reject()
    qtbot.waitUntil(lambda: not shiboken6.isValid(wizard))  # closed, and gone
    assert not {k: v for k, v in missing.items() if v}
    closing = session.tasks.spawn(pool.close())
    qtbot.waitUntil(closing.done)


def test_tab_follows_the_server_form(qtbot: Any, loop: Any, inventory_file: Path) -> None:
    window = open_window(qtbot, inventory_file)
    cluster = window.selection.current_cluster()
    assert cluster is not None
    dialog = ServerDialog(cluster, window.session.inventory, window.session.tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    order = []
    widget = dialog.name
    while widget is not None and len(order) < 12:
        inner = isinstance(widget.parent(), (QComboBox, QAbstractSpinBox))  # its editor
        if widget.isVisible() and widget.isEnabled() and widget.focusPolicy() & Qt.TabFocus:
            shown = widget.parent() if inner else widget
            if not order or order[-1] is not shown:
                order.append(shown)
        widget = widget.nextInFocusChain()
        if widget is dialog.name:
            break
    expected = [dialog.name, dialog.management, dialog.redundancy, dialog.role, dialog.port,
                dialog.user, dialog.auth, dialog.secret]  # fmt: skip
    assert order[: len(expected)] == expected
