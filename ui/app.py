"""Starting the desktop app: QApplication (Fusion, palette following the OS light or dark
scheme, PMC's icon and style sheet), the qasync loop, the session and the main window.

PySide6 is imported before qasync so that qasync binds to it. Tasks are cancelled on
``aboutToQuit``; blocking work runs in the executors of :class:`ui.tasks.Tasks` and of the SSH
connection pool, never on the GUI thread.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from pmc import __version__
from pmc.log import configure_logging
from pmc.paths import default_inventory_path
from pmc.remote.pool import ConnectionPool
from pmc.store import Store
from pmc.workspace import Workspace

from .error_dialog import show_error
from .event_loop import PmcEventLoop  # imports qasync after PySide6 (PITFALLS)
from .gui_gc import GuiThreadCollector
from .host_key_dialog import DialogTrustDecision
from .icons import app_icon
from .main_window import MainWindow
from .resource_files import STYLE_SHEET
from .session import Session
from .tasks import Tasks
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


def build_window(inventory: Path, settings: QSettings | None) -> tuple[Session, MainWindow]:
    """The session (with its SSH pool, keyed to a GUI trust dialog) and the main window."""
    tasks = Tasks()
    trust = DialogTrustDecision(None)
    pool = ConnectionPool(trust=trust)
    unavailable = ""
    try:
        store: Store | None = Store.open()
    except Exception as exc:  # history is a convenience; the app works without it
        log.warning("job history unavailable: %s", exc)
        store = None
        unavailable = f"Job history unavailable: {exc}"  # e.g. a damaged file, kept as it is
    session = Session(Workspace(inventory, pool=pool, store=store), tasks)
    window = MainWindow(session, settings)
    trust.parent = window
    if unavailable:
        window.statusBar().showMessage(unavailable)
    return session, window


def start_logging(*, verbose: bool = False) -> None:
    """PMC's log file only: a desktop app does not write log lines to a terminal (this
    replaces the stderr handler of the CLI's logging when started as ``pmc … gui``)."""
    try:
        configure_logging(verbose, stderr=False)
    except OSError as exc:  # the app works without its log file; say so once
        print(f"pmc: cannot write the log file ({exc}); continuing without it", file=sys.stderr)


def run(argv: list[str]) -> int:
    """``pmc`` / ``pmc gui``: open the main window and run until it closes."""
    args = parse_args(argv)
    start_logging(verbose=args.verbose)
    app = make_app()
    inventory = Path(
        args.inventory or os.environ.get("PMC_INVENTORY", "") or default_inventory_path()
    ).expanduser()
    session, window = build_window(inventory, QSettings())
    return run_window(app, session, window, quit_after_paint=args.quit_after_paint)


def run_window(
    app: QApplication, session: Session, window: MainWindow, *, quit_after_paint: bool = False
) -> int:
    """Run the qasync loop with ``window`` until the app quits; then close connections."""
    collector = GuiThreadCollector()
    loop = PmcEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        session.load()
    except Exception as exc:
        show_error(window, f"opening the inventory {session.inventory_path}", exc)
    closed = asyncio.Event()

    def about_to_quit() -> None:
        window.poller.stop()
        session.tasks.cancel_all()
        closed.set()

    app.aboutToQuit.connect(about_to_quit)
    window.show()
    if quit_after_paint:
        QTimer.singleShot(0, app.quit)
    with loop:
        loop.run_until_complete(closed.wait())
        if window.runner is not None:  # schedules and syncs stop at their safe points
            loop.run_until_complete(window.runner.close())
        if session.pool is not None:
            loop.run_until_complete(session.pool.close())
    session.tasks.shutdown()
    window.deleteLater()
    app.processEvents()
    collector.stop()  # the last collection on this thread, while the QApplication exists
    collector.deleteLater()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
