"""``make demo``: a fresh two-server lab, its inventory, and PMC open on it.

Runs as root (the lab needs it). The app runs inside the lab's operator network namespace,
with the lab's root passwords held in memory for its SSH logins and the lab's host keys
already trusted; the lab goes down when the window closes.

On a machine without a display (Linux, neither ``DISPLAY`` nor ``WAYLAND_DISPLAY`` set) a
window cannot open: the demo then starts a private Xvfb (or, without Xvfb, Qt's offscreen
platform), opens the app there, saves a screenshot of the main window once the lab cluster's
status has been probed (``screenshots/demo.png``, or ``PMC_DEMO_SCREENSHOT``), says so, and
quits after ``PMC_DEMO_SECONDS`` (20 s by default there). With a display the window stays
until it is closed (or for ``PMC_DEMO_SECONDS`` if set).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from pmc.errors import PmcError
from pmc.lab.demo_setup import lab_app_setup
from pmc.status import ClusterStatus
from pmc.store import Store
from pmc.workspace import Workspace

from .app import make_app, start_logging
from .host_key_dialog import DialogTrustDecision
from .main_window import MainWindow
from .session import Session
from .tasks import Tasks
from .window_start import run_window

HEADLESS_SECONDS = 20.0  # PMC_DEMO_SECONDS when there is no display
SCREENSHOT = Path("screenshots") / "demo.png"
SCREEN = "1600x1000x24"
WINDOW_SIZE = (1360, 860)
LONGEST_WAIT = 180.0  # seconds: a status that never comes still gets its screenshot then


def has_display() -> bool:
    """A screen to open windows on (always on Windows and macOS)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    else:
        return True


@contextlib.contextmanager
def virtual_screen() -> Iterator[str]:
    """A private Xvfb for this process (DISPLAY and QT_QPA_PLATFORM set to it); yields how
    it is described. Without Xvfb, Qt's offscreen platform."""
    if os.environ.get("QT_QPA_PLATFORM") in ("offscreen", "minimal"):
        yield "Qt's offscreen platform"
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        yield "Qt's offscreen platform (Xvfb is not installed: apt install xvfb)"
        return
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-screen", "0", SCREEN, "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        number = ""
        with os.fdopen(read_end) as pipe:
            if select.select([pipe], [], [], 15)[0]:
                number = pipe.readline().strip()
        if not number.isdigit():
            raise PmcError(
                "the virtual screen (Xvfb) did not start",
                hint="Run `Xvfb :99` by hand to see why, or start PMC on a desktop.",
            )
        os.environ["DISPLAY"] = f":{number}"
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        yield f"a private virtual screen (Xvfb :{number}, {SCREEN.rsplit('x', 1)[0]})"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@dataclass
class HeadlessRun:
    """Screenshot once the status is in, then quit after ``seconds`` (not before the shot)."""

    window: MainWindow
    path: Path
    seconds: float
    started: float = field(default_factory=time.monotonic)
    saved: bool | None = None  # None: not taken yet
    probed: bool = False

    def start(self) -> None:
        self.window.poller.updated.connect(self._status)
        QTimer.singleShot(int(self.seconds * 1000), self._maybe_quit)

    def _status(self, status: ClusterStatus) -> None:
        probed = bool(status.servers) and all(
            s.reachable.checked is not None for s in status.servers.values()
        )  # the first update is the empty "not checked yet" one
        if probed and not self.probed:
            self.probed = True
            QTimer.singleShot(800, self.shoot)  # let the table and the diagram paint

    def shoot(self) -> None:
        if self.saved is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.saved = self.window.grab().save(str(self.path))
        if self.saved:
            note = "" if self.probed else " (before the status had been probed)"
            print(f"Screenshot of the main window{note}: {self.path.resolve()}", flush=True)
        else:
            print(f"pmc demo: cannot write the screenshot {self.path}", file=sys.stderr)

    def _maybe_quit(self) -> None:
        if self.saved is None and time.monotonic() - self.started < LONGEST_WAIT:
            QTimer.singleShot(500, self._maybe_quit)  # the screenshot first
            return
        self.shoot()
        print(f"Quitting after {time.monotonic() - self.started:.0f} s.", flush=True)
        QApplication.quit()


def main(argv: list[str]) -> int:
    servers = int(argv[0]) if argv else 2
    headless = not has_display()
    with contextlib.ExitStack() as stack:
        if headless:
            try:
                where = stack.enter_context(virtual_screen())
            except PmcError as exc:
                print(f"pmc demo: {exc}", file=sys.stderr)
                return 1
            seconds = float(os.environ.get("PMC_DEMO_SECONDS") or HEADLESS_SECONDS)
            shot = Path(os.environ.get("PMC_DEMO_SCREENSHOT") or SCREENSHOT)
            print(
                f"No display here (DISPLAY and WAYLAND_DISPLAY are not set), so PMC runs on "
                f"{where}. A screenshot of the main window goes to {shot.resolve()} once the "
                f"lab's status is in; PMC quits after {seconds:g} s (PMC_DEMO_SECONDS).",
                flush=True,
            )
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pmc-demo-")))
        os.environ.setdefault("PMC_CONFIG_DIR", str(tmp / "config"))
        os.environ.setdefault("PMC_DATA_DIR", str(tmp / "data"))
        os.environ.setdefault("PMC_LOG_DIR", str(tmp / "log"))
        start_logging()
        print(f"Starting the rehearsal lab (fresh, {servers} servers)…", flush=True)
        lab_id = os.environ.get("PMC_LAB_ID") or "pmc-demo"
        try:
            setup = stack.enter_context(lab_app_setup(tmp, servers=servers, lab_id=lab_id))
        except PmcError as exc:
            print(f"pmc demo: {exc}", file=sys.stderr)
            return 1
        print(f"Lab up. Inventory: {setup.inventory_path}", flush=True)
        app = make_app()
        trust = DialogTrustDecision(None)
        workspace = Workspace(setup.inventory_path, pool=setup.pool(trust), store=Store.open())
        session = Session(workspace, Tasks())
        window = MainWindow(session, QSettings())
        trust.parent = window
        window.setWindowTitle("Playout Management Console — rehearsal lab")
        run: HeadlessRun | None = None
        if headless:
            window.resize(*WINDOW_SIZE)
            run = HeadlessRun(window, shot, seconds)
            run.start()
        elif os.environ.get("PMC_DEMO_SECONDS"):  # smoke runs: quit by itself
            QTimer.singleShot(int(float(os.environ["PMC_DEMO_SECONDS"]) * 1000), app.quit)
        code = run_window(app, session, window)
        if run is not None and not run.saved:
            return 1
        return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
