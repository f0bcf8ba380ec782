"""The jobs panel shows a running job's progress and live log, cancels it at a safe point,
and lists past jobs from the history store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from pmc.jobs import Job, JobContext, JobState
from pmc.store import Store
from tests.ui.helpers import open_window

pytestmark = pytest.mark.gui


def test_running_job_progress_log_and_cancel(qtbot, loop, inventory_file: Path) -> None:
    store = Store.in_memory()
    window = open_window(qtbot, inventory_file, store=store)
    gate = asyncio.Event()

    async def body(ctx: JobContext) -> str:
        with ctx.step("Write spoolers.json", server="main"):
            ctx.log("backup taken", server="main")
            ctx.progress(1, 4)
        await gate.wait()  # the work goes on until the test lets it reach its next safe point
        await ctx.acheckpoint()
        return "done"

    job = Job("setup", "Set up studio", body, cluster="studio")
    window.session.run_job(job)
    panel = window.jobs
    qtbot.waitUntil(lambda: panel._bars[job.id].value() == 25)
    assert panel.tree.topLevelItem(0).text(0) == "Set up studio"
    assert panel.tree.topLevelItem(0).text(2) == "running"
    assert "[main] backup taken" in panel.log.toPlainText()
    assert panel.cancel_button.isEnabled()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    gate.set()
    qtbot.waitUntil(lambda: job.state.is_final, timeout=10000)
    assert job.state is JobState.CANCELLED
    qtbot.waitUntil(lambda: panel.tree.topLevelItem(0).text(2) == "cancelled")
    assert not panel.cancel_button.isEnabled()
    assert panel.tree.topLevelItem(0).text(5).endswith("s")
    assert [r.state for r in store.jobs()] == ["cancelled"]


def test_history_comes_from_the_store(qtbot, loop, inventory_file: Path) -> None:
    store = Store.in_memory()
    store.job_started("abc123", "verify", "Verify studio", "studio")
    store.job_log("abc123", [(0, 1.0, "log", "info", "main", "PASS  [main] API active")])
    store.job_finished("abc123", "succeeded", "all checks pass")
    window = open_window(qtbot, inventory_file, store=store)
    panel = window.jobs
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 1)
    item = panel.tree.topLevelItem(0)
    assert (item.text(0), item.text(2), item.text(6)) == (
        "Verify studio",
        "succeeded",
        "all checks pass",
    )
    panel.tree.setCurrentItem(item)
    qtbot.waitUntil(lambda: "API active" in panel.log.toPlainText())


@pytest.mark.parametrize(
    ("elapsed", "fraction", "said"),
    [
        (10.0, 0.04, ""),  # too early to tell
        (2.0, 0.5, ""),
        (10.0, 0.5, "about 10 s left"),
        (3.0, 0.9, "about 5 s left"),  # never less than 5 s while it runs
        (60.0, 0.25, "about 3 min left"),
        (10.0, 1.0, ""),  # done
    ],
)
def test_time_left_is_said_in_round_figures(elapsed: float, fraction: float, said: str) -> None:
    from ui.jobs_panel import time_left

    assert time_left(elapsed, fraction) == said
