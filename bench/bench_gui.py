"""GUI responsiveness: the longest event-loop stall while the setup wizard applies the
combined architecture and while the status of 4 lab servers refreshes, measured by a 10 ms
QTimer on the Qt loop (how late it fires); and the time from launch to the first painted main
window. Goals: stall <= 50 ms, first paint <= 1 s warm. Each figure is printed beside a
baseline from the same run (the idle loop's stall; a bare QApplication's start-up).

Run as root (the lab): ``.venv/bin/python bench/bench_gui.py``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_SCALE_FACTOR"] = "1"
os.environ.setdefault("QT_API", "pyside6")  # qasync binds to PySide6
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import qasync
from PySide6.QtCore import QElapsedTimer, QTimer

from pmc.inventory import Architecture, Cluster, Inventory
from pmc.inventory_file import save_inventory
from pmc.lab.demo_setup import lab_app_setup
from pmc.store import Store
from pmc.workspace import Workspace
from ui.app import make_app, quiet_platform_notes
from ui.main_window import MainWindow
from ui.session import Session
from ui.tasks import Tasks

TICK_MS = 10
GOAL_STALL_MS = 50.0
GOAL_PAINT_S = 1.0


class StallMeter:
    """A 10 ms timer; the stall is how much later than due it fires."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self.last = 0
        self.worst = 0.0
        self.samples: list[float] = []

    def start(self) -> None:
        self.worst = 0.0
        self.samples = []
        self.clock.start()
        self.last = self.clock.elapsed()
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.worst

    def _tick(self) -> None:
        now = self.clock.elapsed()
        late = max(0.0, float(now - self.last - TICK_MS))
        self.samples.append(late)
        self.worst = max(self.worst, late)
        self.last = now


async def measured(meter: StallMeter, work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    meter.start()
    started = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - started
    return meter.stop(), elapsed


async def until(condition: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        await asyncio.sleep(0.02)


async def run_stalls(setup, folder: Path) -> dict[str, float]:  # type: ignore[no-untyped-def]
    meter = StallMeter()
    figures: dict[str, float] = {}
    tasks = Tasks()
    four = Cluster("lab4", Architecture.MANUAL, setup.cluster.servers)
    pair = tuple(s for s in setup.cluster.servers if s.name in ("main", "backup"))
    two = Cluster("lab", Architecture.COMBINED, pair)
    inventory = folder / "bench-inventory.toml"
    save_inventory(Inventory((two, four)), inventory)
    passwords = {}
    for s in setup.lab.servers.values():
        passwords[f"lab/{s.name}"] = s.root_password
        passwords[f"lab4/{s.name}"] = s.root_password
    pool = setup.pool()
    pool.credentials._passwords.update(passwords)  # both clusters log in with the lab's
    session = Session(Workspace(inventory, pool=pool, store=Store.in_memory()), tasks)
    window = MainWindow(session)
    session.load()
    window.show()
    window.poller.stop()

    idle, _ = await measured(meter, lambda: asyncio.sleep(3.0))
    figures["idle loop, worst stall ms"] = idle

    window.tree.select("lab4")
    window.poller.stop()
    await asyncio.sleep(0.2)

    async def refreshes() -> None:
        for _ in range(5):
            task = window.poller.refresh()
            assert task is not None
            await task

    await refreshes()  # connect first: the figure is the steady refresh
    stall, elapsed = await measured(meter, refreshes)
    figures["status refresh x5 of 4 servers, worst stall ms"] = stall
    figures["status refresh of 4 servers, s each"] = elapsed / 5

    window.tree.select("lab")
    window.poller.stop()
    window.commands["setup_redundancy"].trigger()
    wizard = window.setup_flows.wizard
    assert wizard is not None
    wizard.next()
    wizard.next()
    await until(lambda: wizard.plan_page.plan is not None or bool(wizard.plan_page.error), 120)
    if wizard.plan_page.error:
        raise RuntimeError(wizard.plan_page.error)
    wizard.next()
    wizard.confirm.understood.setChecked(True)

    async def apply() -> None:
        wizard.next()
        page = wizard.apply_page
        await until(lambda: page.job is not None and page.job.state.is_final, 300)
        if not page.succeeded:
            raise RuntimeError(page.outcome.text())

    stall, elapsed = await measured(meter, apply)
    figures["wizard apply (combined), worst stall ms"] = stall
    figures["wizard apply (combined), s"] = elapsed
    wizard.hide()
    window.close()
    await pool.close()
    tasks.shutdown()
    return figures


def first_paint(inventory: Path, runs: int = 5) -> tuple[float, float]:
    """Median wall time of `python -m ui.app --quit-after-paint` (launch → painted → quit),
    and of a bare QApplication that shows an empty window, as the baseline."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    root = Path(__file__).resolve().parents[1]
    app_cmd = [sys.executable, "-m", "ui.app", "--inventory", str(inventory), "--quit-after-paint"]
    bare_cmd = [sys.executable, "-c",
                "from PySide6.QtWidgets import QApplication, QMainWindow\n"
                "from PySide6.QtCore import QTimer\n"
                "a = QApplication([]); w = QMainWindow(); w.show()\n"
                "QTimer.singleShot(0, a.quit); a.exec()"]  # fmt: skip

    def timed(cmd: list[str]) -> float:
        started = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=root, check=True, capture_output=True)
        return time.perf_counter() - started

    timed(app_cmd)  # warm the caches
    app = statistics.median(timed(app_cmd) for _ in range(runs))
    bare = statistics.median(timed(bare_cmd) for _ in range(runs))
    return app, bare


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pmc-bench-gui-") as tmp:
        folder = Path(tmp)
        os.environ["PMC_CONFIG_DIR"] = str(folder / "config")
        os.environ["PMC_DATA_DIR"] = str(folder / "data")
        lab_id = os.environ.get("PMC_LAB_ID") or "pmc-bench-gui"
        with lab_app_setup(folder, servers=4, lab_id=lab_id) as setup:
            app = make_app()
            quiet_platform_notes()
            app.setQuitOnLastWindowClosed(False)
            loop = qasync.QEventLoop(app)
            asyncio.set_event_loop(loop)
            with loop:
                figures = loop.run_until_complete(run_stalls(setup, folder))
        paint, bare = first_paint(setup.inventory_path)
    idle = figures["idle loop, worst stall ms"]
    print("PMC GUI benchmark (Qt loop lateness measured by a 10 ms QTimer)")
    for name, value in figures.items():
        print(f"  {name:48s} {value:8.1f}")
    for key in ("status refresh x5 of 4 servers, worst stall ms",
                "wizard apply (combined), worst stall ms"):  # fmt: skip
        verdict = "meets" if figures[key] <= GOAL_STALL_MS else "MISSES"
        print(f"  {key}: {figures[key]:.1f} ms vs idle {idle:.1f} ms "
              f"({verdict} the {GOAL_STALL_MS:.0f} ms goal)")  # fmt: skip
    verdict = "meets" if paint <= GOAL_PAINT_S else "MISSES"
    print(f"  launch to first painted main window (warm, median of 5): {paint:.2f} s; bare "
          f"QApplication window {bare:.2f} s; ratio {paint / bare:.2f} "
          f"({verdict} the {GOAL_PAINT_S:.0f} s goal)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
