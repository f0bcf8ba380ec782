"""The main window's start: the session (SSH pool with the GUI's trust dialog, the job
history) and the window (:func:`build_window`), and the qasync loop that runs them until the
app quits (:func:`run_window`), taking the place of the first frame (:mod:`ui.first_frame`).
Loaded by :mod:`ui.app` after the first paint; ``make demo`` uses it as it is."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

from pmc.remote.pool import ConnectionPool
from pmc.store import Store
from pmc.workspace import Workspace

from .error_dialog import show_error
from .event_loop import PmcEventLoop  # imports qasync after PySide6 (PITFALLS)
from .first_frame import FirstPaint
from .gui_gc import GuiThreadCollector
from .host_key_dialog import DialogTrustDecision
from .main_window import MainWindow
from .session import Session
from .tasks import Tasks
from .translation import tr

log = logging.getLogger(__name__)


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
        # e.g. a damaged file, kept as it is
        unavailable = tr("Job history unavailable: {why}").format(why=exc)
    session = Session(Workspace(inventory, pool=pool, store=store), tasks)
    window = MainWindow(session, settings)
    trust.parent = window
    if unavailable:
        window.statusBar().showMessage(unavailable)
    return session, window


def run_window(
    app: QApplication,
    session: Session,
    window: MainWindow,
    *,
    quit_after_paint: bool = False,
    frame: QMainWindow | None = None,
) -> int:
    """Run the qasync loop with ``window`` until the app quits; then close connections.
    ``frame`` (the first frame) gives ``window`` its place and closes once ``window`` is
    painted; ``quit_after_paint`` quits then (benchmarks and smoke tests)."""
    collector = GuiThreadCollector()
    loop = PmcEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        session.load()
    except Exception as exc:
        show_error(
            window, tr("opening the inventory {path}").format(path=session.inventory_path), exc
        )
    closed = asyncio.Event()

    def about_to_quit() -> None:
        window.poller.stop()
        window.fleet_poller.stop()
        session.tasks.cancel_all()
        closed.set()

    def shown() -> None:
        if frame is not None:
            frame.close()
            frame.deleteLater()
        if quit_after_paint:
            QTimer.singleShot(0, app.quit)

    app.aboutToQuit.connect(about_to_quit)
    if frame is not None:
        window.setGeometry(frame.geometry())
    painted = FirstPaint(window, "window painted", shown)
    window.show()
    with loop:
        loop.run_until_complete(closed.wait())
        if window.runner is not None:  # schedules and syncs stop at their safe points
            loop.run_until_complete(window.runner.close())
        if session.pool is not None:
            loop.run_until_complete(session.pool.close())
    session.tasks.shutdown()
    del painted
    window.deleteLater()
    app.processEvents()
    collector.stop()  # the last collection on this thread, while the QApplication exists
    collector.deleteLater()
    app.processEvents()
    return 0
