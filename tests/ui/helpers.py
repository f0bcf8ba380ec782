"""Small helpers for GUI tests: build a window over a session, wait for dialogs."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from pytestqt.qtbot import QtBot

from pmc.remote.pool import ConnectionPool
from pmc.store import Store
from pmc.workspace import Workspace
from ui.main_window import MainWindow
from ui.session import Session
from ui.status_panel import COLUMNS
from ui.tasks import Tasks


def open_window(
    qtbot: QtBot,
    inventory: Path,
    *,
    pool: ConnectionPool | None = None,
    store: Store | None = None,
) -> MainWindow:
    workspace = Workspace(inventory, pool=pool, store=store or Store.in_memory())
    session = Session(workspace, Tasks())
    window = MainWindow(session)
    qtbot.addWidget(window)
    session.load()
    window.show()
    qtbot.waitExposed(window)
    return window


def wait_dialog(qtbot: QtBot, kind: type[QWidget], timeout: int = 10000) -> QWidget:
    """The visible top-level widget of ``kind`` (a dialog opened with open())."""
    found: list[QWidget] = []

    def visible() -> bool:
        found[:] = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()
        ]
        return bool(found)

    qtbot.waitUntil(visible, timeout=timeout)
    return found[-1]


def assert_nothing_elided(qtbot: Any, panel: Any) -> None:
    """Every cell's text fits its column; every details line shows all its lines."""
    table = panel.table
    shown = [panel._details[s] for s in panel.servers if panel.details(s)]
    qtbot.waitUntil(lambda: all(label.width() > 100 for label in shown))  # laid out
    metrics = QFontMetrics(table.font())
    header = table.horizontalHeader()
    for column in range(table.columnCount()):
        title = table.horizontalHeaderItem(column).text()
        assert QFontMetrics(header.font()).horizontalAdvance(title) < table.columnWidth(column)
    for server in panel.servers:
        for column, title in enumerate(COLUMNS):
            item = panel.cell(server, title)
            if item is None or not item.text():
                continue
            icon = table.iconSize().width() + 4 if not item.icon().isNull() else 0
            needed = metrics.horizontalAdvance(item.text()) + icon + 2 * 3
            assert needed <= table.columnWidth(column), (server, title, item.text())
        label = panel._details[server]
        if panel.details(server):
            row = panel._rows[server] + 1
            assert label.heightForWidth(label.width()) <= table.rowHeight(row), server
            assert label.width() <= table.viewport().width()


def ssh_keygen_fingerprint(public_key: Path) -> str:
    """The fingerprint of a public key file as OpenSSH prints it (``SHA256:…``)."""
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(public_key)], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[1]


__all__ = ["QDialog", "assert_nothing_elided", "open_window", "wait_dialog"]
