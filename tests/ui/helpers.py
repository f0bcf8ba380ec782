"""Small helpers for GUI tests: build a window over a session, wait for dialogs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from PySide6.QtWidgets import QApplication, QDialog, QWidget
from pytestqt.qtbot import QtBot

from pmc.remote.pool import ConnectionPool
from pmc.store import Store
from pmc.workspace import Workspace
from ui.main_window import MainWindow
from ui.session import Session
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


__all__ = ["QDialog", "open_window", "wait_dialog"]


def ssh_keygen_fingerprint(public_key: Path) -> str:
    """The fingerprint of a public key file as OpenSSH prints it (``SHA256:…``)."""
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(public_key)], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[1]
