"""The sync panel renders a sync job's progress and log, cancels it, and lists the history
(the engines are replaced by a stand-in body; they are tested against the lab elsewhere)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import inventory_file, loop, pmc_dirs  # noqa: F401 (fixtures)

pytestmark = pytest.mark.gui


def test_panel_runs_a_sync_then_shows_it_in_history(
    qtbot: Any,
    loop: asyncio.AbstractEventLoop,  # noqa: F811
    inventory_file: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    from pmc.inventory import Cluster
    from pmc.jobs import JobContext, JobState
    from pmc.remote.host_keys import KnownHosts
    from pmc.remote.pool import ConnectionPool
    from pmc.store import Store
    from pmc.sync.runner import SyncRequest
    from pmc.workspace import Workspace
    from ui.session import Session
    from ui.sync_panel import SyncPanel
    from ui.sync_runner import make_runner
    from ui.tasks import Tasks

    pool = ConnectionPool(known_hosts=KnownHosts(tmp_path / "known_hosts"))
    session = Session(Workspace(inventory_file, pool=pool, store=Store.in_memory()), Tasks())
    session.load()
    runner = make_runner(session)
    gate = asyncio.Event()

    async def fake_sync(cluster: Cluster, request: SyncRequest, ctx: JobContext) -> object:
        ctx.progress(0.5, 1.0, message="Copying carousel files")
        ctx.log("copy_config.sh: Copying carousel files to secondary... returned 0", server="main")
        await gate.wait()
        await ctx.acheckpoint()
        return "copied 3 rows"

    runner._sync = fake_sync  # type: ignore[method-assign]
    panel = SyncPanel(session, runner)
    qtbot.addWidget(panel)
    panel.set_cluster("studio")
    job = panel.synchronize()
    assert job is not None
    qtbot.waitUntil(lambda: panel.progress.value() == 50)
    assert "Copying carousel files to secondary" in panel.log.toPlainText()
    assert job in session.jobs
    gate.set()
    qtbot.waitUntil(lambda: job.state is JobState.SUCCEEDED)
    qtbot.waitUntil(lambda: panel.history.topLevelItemCount() == 1)
    qtbot.waitUntil(lambda: panel.history.topLevelItem(0).text(2) == "succeeded")

    gate.clear()
    second = panel.synchronize()
    assert second is not None
    qtbot.waitUntil(panel.cancel_button.isEnabled)
    panel.cancel_button.click()
    gate.set()
    qtbot.waitUntil(lambda: second.state is JobState.CANCELLED)
    qtbot.waitUntil(lambda: not panel.cancel_button.isEnabled())
