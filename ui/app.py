"""Starting the desktop app: QApplication (Fusion, palette following the OS light or dark
scheme, PMC's icon and style sheet, the translator), the main window's frame painted at once
(:mod:`ui.first_frame`), then the session, the qasync loop and the main window in the frame's
place (:mod:`ui.window_start`, loaded after the first paint: it brings Qt's panels, SSH and
PostgreSQL libraries, most of the start-up time).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QCoreApplication,
    QEventLoop,
    QMessageLogContext,
    QSettings,
    Qt,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from pmc import __version__
from pmc.log import configure_logging
from pmc.paths import default_inventory_path

from .first_frame import FirstFrame, FirstPaint
from .icons import app_icon
from .resource_files import STYLE_SHEET
from .translation import install_translator

log = logging.getLogger(__name__)

ORGANISATION = "Icareus"
APPLICATION = "PMC"


def is_dark_scheme() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if callable(scheme):
        return bool(scheme() == Qt.ColorScheme.Dark)
    return False


def make_palette(dark: bool) -> QPalette:
    """Fusion's light palette, or a calm dark one."""
    if not dark:
        return QStyleFactory.create("Fusion").standardPalette()
    p = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#2b2f33",
        QPalette.ColorRole.WindowText: "#e6e8ea",
        QPalette.ColorRole.Base: "#1f2326",
        QPalette.ColorRole.AlternateBase: "#272b2f",
        QPalette.ColorRole.ToolTipBase: "#32373c",
        QPalette.ColorRole.ToolTipText: "#e6e8ea",
        QPalette.ColorRole.PlaceholderText: "#8d959c",
        QPalette.ColorRole.Text: "#e6e8ea",
        QPalette.ColorRole.Button: "#33383d",
        QPalette.ColorRole.ButtonText: "#e6e8ea",
        QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Light: "#454b51",
        QPalette.ColorRole.Midlight: "#3b4045",
        QPalette.ColorRole.Mid: "#50575e",
        QPalette.ColorRole.Dark: "#1a1d20",
        QPalette.ColorRole.Shadow: "#101214",
        QPalette.ColorRole.Highlight: "#2f7fd0",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#6cb2ff",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7b838a"))
    return p


def apply_palette(app: QApplication) -> None:
    """The palette of the OS's light or dark scheme; called again when it switches (the
    main window then redraws its icons and diagram)."""
    app.setPalette(make_palette(is_dark_scheme()))
    if app.styleSheet():
        app.setStyleSheet(app.styleSheet())  # re-polish widgets that cached the old palette


def make_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication, set up once (tests reuse pytest-qt's and call this for the look)."""
    QCoreApplication.setOrganizationName(ORGANISATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(__version__)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(["pmc", *(argv or [])])
    app.setStyle("Fusion")
    install_translator(app)
    app.setWindowIcon(app_icon())
    app.setDesktopFileName("pmc")
    apply_palette(app)
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(lambda *_: apply_palette(app))
    if STYLE_SHEET.exists():
        app.setStyleSheet(STYLE_SHEET.read_text(encoding="utf-8"))
    return app


PLATFORM_NOTES = ("This plugin does not support",)  # the offscreen platform's "not here"s


def quiet_platform_notes() -> None:
    """Drop the offscreen platform's notes (``propagateSizeHints()``, ``raise()``…) that
    ``make screenshots`` and the benchmarks would otherwise print by the dozen; every other
    Qt message goes on to stderr as before."""
    previous: list[Callable[..., None] | None] = [None]

    def handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if message.startswith(PLATFORM_NOTES):
            return
        if previous[0] is not None:
            previous[0](kind, context, message)
        else:
            print(message, file=sys.stderr)

    previous[0] = qInstallMessageHandler(handler)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pmc gui", description="Open the PMC desktop app.")
    parser.add_argument("--inventory", metavar="FILE", help="inventory file to open")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log PMC's debug messages (to the log file)"
    )
    parser.add_argument(
        "--quit-after-paint",
        action="store_true",
        help=argparse.SUPPRESS,  # benchmarks and smoke tests: quit once the window is painted
    )
    return parser.parse_args(argv)


def start_logging(*, verbose: bool = False) -> None:
    """PMC's log file only: a desktop app does not write log lines to a terminal (this
    replaces the stderr handler of the CLI's logging when started as ``pmc … gui``)."""
    try:
        configure_logging(verbose, stderr=False)
    except OSError as exc:  # the app works without its log file; say so once
        print(f"pmc: cannot write the log file ({exc}); continuing without it", file=sys.stderr)


def run(argv: list[str]) -> int:
    """``pmc`` / ``pmc gui``: the main window's frame at once, then the main window in its
    place once PMC has loaded (:mod:`ui.window_start`), run until it closes."""
    args = parse_args(argv)
    start_logging(verbose=args.verbose)
    app = make_app()
    inventory = Path(
        args.inventory or os.environ.get("PMC_INVENTORY", "") or default_inventory_path()
    ).expanduser()
    settings = QSettings()
    frame = FirstFrame(settings)
    painted = FirstPaint(frame, "painted")
    frame.show()
    deadline = time.monotonic() + 10  # an offscreen or headless platform may never paint
    while not painted.done and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
    from .window_start import build_window, run_window  # the heavy part, after the paint

    session, window = build_window(inventory, settings)
    return run_window(app, session, window, quit_after_paint=args.quit_after_paint, frame=frame)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
