"""The window an operator sees first: the main window's frame (title, icon, size and place),
painted before PMC loads its panels, SSH and database libraries (those take most of the
start-up). :func:`ui.window_start.run_window` puts the full main window in its place, on its
geometry, as soon as that is painted. :class:`FirstPaint` notes a window's first paint."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QMainWindow, QWidget

from .icons import app_icon
from .translation import tr

WINDOW_SIZE = QSize(1280, 820)  # at most; never more than the screen's available room


def fitting_size(available: QSize, wanted: QSize = WINDOW_SIZE) -> QSize:
    """``wanted``, made smaller to fit ``available`` (the screen without its panels), with
    a margin for the window's frame."""
    return QSize(
        min(wanted.width(), max(640, available.width() - 40)),
        min(wanted.height(), max(480, available.height() - 60)),
    )


def place(window: QMainWindow, settings: QSettings | None) -> None:
    """Where the main window opens: where it was left, else sized to fit the screen."""
    geometry = settings.value("window/geometry") if settings is not None else None
    if isinstance(geometry, QByteArray) and window.restoreGeometry(geometry):
        return
    screen = QGuiApplication.primaryScreen()
    window.resize(fitting_size(screen.availableGeometry().size()) if screen else WINDOW_SIZE)


class FirstPaint(QObject):
    """Calls ``then`` once ``window`` has been painted; with ``PMC_PRINT_PAINT=1`` prints
    ``<label> <seconds since the epoch>`` then (bench/bench_startup.py)."""

    def __init__(self, window: QWidget, label: str, then: Callable[[], None] | None = None):
        super().__init__(window)
        self.label = label
        self.then = then
        self.done = False
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.done and event.type() == QEvent.Type.Paint:
            self.done = True
            if os.environ.get("PMC_PRINT_PAINT") == "1":
                print(f"{self.label} {time.time():.6f}", flush=True)
            if self.then is not None:
                self.then()
        return False


class FirstFrame(QMainWindow):
    def __init__(self, settings: QSettings | None) -> None:
        super().__init__()
        self.setObjectName("firstFrame")
        self.setWindowTitle(tr("Playout Management Console"))
        self.setWindowIcon(app_icon())
        opening = QLabel(tr("Opening the inventory…"))
        opening.setAlignment(Qt.AlignmentFlag.AlignCenter)
        opening.setProperty("role", "hint")
        self.setCentralWidget(opening)
        self.statusBar().showMessage(tr("Starting PMC…"))
        place(self, settings)
