"""Start-up: ``pmc --version`` (and ``pmc --help``) warm, and the time from launch to the first
painted main window, each beside a baseline measured in the same run: a bare Python
interpreter for the command line, a bare Qt window (QApplication + an empty QMainWindow of the
same size, painted) for the app. Goals: ``pmc --version`` <= 0.3 s warm; PMC's first painted
window <= 2x the bare Qt window. PMC paints its main window's frame first, then loads its
panels, SSH and database libraries and puts the whole main window in its place: both moments
are printed.

The windows open on a private Xvfb when there is one (as an operator's desktop would), else
on Qt's offscreen platform; the moment of the first paint is printed by the process itself
(``PMC_PRINT_PAINT=1``), so interpreter start, imports and the first paint count, exiting
does not. Runs without root, without the lab.

    .venv/bin/python bench/bench_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pmc.inventory import Architecture, Cluster, Inventory, Role, Server  # noqa: E402
from pmc.inventory_file import save_inventory  # noqa: E402
from ui.demo import virtual_screen  # noqa: E402

STUDIO = Inventory((Cluster("studio", Architecture.COMBINED, (
    Server("main", "127.168.1.105", "127.17.59.128", Role.MAIN),
    Server("backup", "127.168.1.108", "127.17.59.129", Role.BACKUP),
)),))  # fmt: skip
GOAL_VERSION_S = 0.3
GOAL_RATIO = 2.0
PMC = [str(Path(sys.executable).with_name("pmc"))]
BARE_QT = """
import os, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
window = QMainWindow()
window.resize(1280, 720)
class First(QObject):
    done = False
    def eventFilter(self, watched, event):
        if not self.done and event.type() == QEvent.Type.Paint:
            self.done = True
            print(f"painted {time.time():.6f}", flush=True)
            QTimer.singleShot(0, app.quit)
        return False
first = First()
window.installEventFilter(first)
window.show()
app.exec()
"""


def wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def to_paint(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Seconds from launching ``cmd`` to each paint it reports: "painted" (its first
    window), "window painted" (PMC's whole main window, which takes the first one's place)."""
    started = time.time()
    done = subprocess.run(
        cmd, env={**env, "PMC_PRINT_PAINT": "1"}, cwd=ROOT, check=True, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    moments = {}
    for line in done.stdout.splitlines():
        label, _, stamp = line.rpartition(" ")
        if label in ("painted", "window painted"):
            moments[label] = float(stamp) - started
    if "painted" not in moments:
        raise RuntimeError(f"{cmd[0]} reported no paint: {done.stdout[-500:]} {done.stderr[-500:]}")
    return moments


def median(values: list[float]) -> float:
    return statistics.median(values)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args(argv).runs
    with tempfile.TemporaryDirectory(prefix="pmc-bench-start-") as tmp, virtual_screen() as where:
        folder = Path(tmp)
        env = {
            **os.environ,
            "PMC_CONFIG_DIR": str(folder / "config"),
            "PMC_DATA_DIR": str(folder / "data"),
            "PMC_LOG_DIR": str(folder / "log"),
            "QT_SCALE_FACTOR": "1",
        }
        inventory = folder / "inventory.toml"
        save_inventory(STUDIO, inventory)
        python = [sys.executable, "-c", "pass"]
        version, helps, bare_python = [], [], []
        wall([*PMC, "--version"], env)  # warm the caches
        for _ in range(runs):
            bare_python.append(wall(python, env))
            version.append(wall([*PMC, "--version"], env))
            helps.append(wall([*PMC, "--help"], env))
        app_cmd = [*PMC, "gui", "--inventory", str(inventory), "--quit-after-paint"]
        bare_cmd = [sys.executable, "-c", BARE_QT]
        to_paint(app_cmd, env)  # warm
        to_paint(bare_cmd, env)
        app, whole, bare = [], [], []
        for _ in range(runs):  # interleaved: both see the same machine load
            bare.append(to_paint(bare_cmd, env)["painted"])
            moments = to_paint(app_cmd, env)
            app.append(moments["painted"])
            whole.append(moments["window painted"])
    v, h, p = median(version), median(helps), median(bare_python)
    a, b, w = median(app), median(bare), median(whole)
    print(f"PMC start-up (median of {runs} warm runs each; windows on {where})")
    print(
        f"  pmc --version            {v:6.3f} s   bare `python -c pass` {p:6.3f} s   "
        f"goal <= {GOAL_VERSION_S} s: {'met' if v <= GOAL_VERSION_S else 'MISSED'}"
    )
    print(f"  pmc --help               {h:6.3f} s")
    print(f"  first painted window     {a:6.3f} s   bare Qt window        {b:6.3f} s   "
          f"ratio {a / b:4.2f} (goal <= {GOAL_RATIO}: "
          f"{'met' if a / b <= GOAL_RATIO else 'MISSED'})")  # fmt: skip
    print(f"  whole main window        {w:6.3f} s   (panels, SSH and database libraries loaded "
          f"after the first paint: {w / b:4.2f}x the bare window)")  # fmt: skip
    print(
        f"  (every run: first {' '.join(f'{x:.2f}' for x in app)}; whole "
        f"{' '.join(f'{x:.2f}' for x in whole)}; bare {' '.join(f'{x:.2f}' for x in bare)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
