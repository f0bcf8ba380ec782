"""The failover day's front end without servers (the engines replaced by a stand-in): the
sync panel shows the direction from the active server, a refused sync becomes a prompt whose
checkbox names what would be discarded (the overwrite stays off until it is ticked) and whose
buttons submit the two ways on; Cluster ▸ History renders a history with each job's changes."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from pmc.errors import InputError
from pmc.history import ClusterHistory, HistoryEntry
from pmc.inventory import Cluster
from pmc.jobs import JobContext, JobState
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool
from pmc.store import Store
from pmc.sync.newer_changes import NewerChanges, TargetChanges
from pmc.sync.runner import Engine, SyncRequest
from pmc.workspace import Workspace
from tests.ui.conftest import inventory_file, loop, pmc_dirs  # noqa: F401 (fixtures)
from ui.async_dialog import Dialogs
from ui.history_dialog import HistoryDialog
from ui.session import Session
from ui.switchover_dialog import SwitchoverDialog
from ui.sync_panel import SyncPanel
from ui.sync_runner import make_runner
from ui.tasks import Tasks

pytestmark = pytest.mark.gui

CHANGES = TargetChanges("main", "backup", None, 12, ("a", "b", "c"), 1, ("/d",))


def session_of(inventory: Path, tmp_path: Path) -> Session:
    pool = ConnectionPool(known_hosts=KnownHosts(tmp_path / "known_hosts"))
    session = Session(Workspace(inventory, pool=pool, store=Store.in_memory()), Tasks())
    session.load()
    return session


def test_a_refused_sync_offers_the_two_ways_on(
    qtbot: Any, loop: asyncio.AbstractEventLoop, inventory_file: Path, tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    session = session_of(inventory_file, tmp_path)
    runner = make_runner(session)
    asked: list[SyncRequest] = []

    async def stand_in(cluster: Cluster, request: SyncRequest, ctx: JobContext) -> object:
        asked.append(request)
        if request.primary == "main" and not request.discard_target_changes:
            raise NewerChanges(CHANGES)
        return "copied"

    runner._sync = stand_in  # type: ignore[method-assign]
    panel = SyncPanel(session, runner)
    qtbot.addWidget(panel)
    panel.set_cluster("studio")
    assert panel.direction.source.currentText() == "main (active)"
    assert panel.direction.arrow.text() == "main → backup"
    panel.engine.setCurrentIndex(panel.engine.findData("playout"))

    def refused() -> Any:
        panel.sync_button.click()
        job = panel.job
        qtbot.waitUntil(lambda: job.state.is_final)
        assert job.state is JobState.FAILED
        qtbot.waitUntil(lambda: getattr(panel, "last_refusal", None) is not None)
        prompt, panel.last_refusal = panel.last_refusal, None
        return prompt

    prompt = refused()
    assert prompt.text.text() == f"{CHANGES}."
    assert panel.result.text().startswith("✖ studio: synchronization failed: backup is the")
    assert panel.minimumSizeHint().width() <= 1280  # the long words wrap, never widen it
    assert not panel.progress.isVisibleTo(panel)  # nothing was copied: no bar at 0 %
    assert prompt.discard.text() == "Discard the 12 rows in 3 tables and 1 file changed on backup"
    assert prompt.other_way.text() == "Synchronize from backup first"
    assert not prompt.overwrite.isEnabled()
    prompt.discard.setChecked(True)
    prompt.overwrite.click()
    qtbot.waitUntil(lambda: panel.job.state is JobState.SUCCEEDED)
    assert asked[-1] == SyncRequest("studio", Engine.PLAYOUT, primary="main",
                                    discard_target_changes=True)  # fmt: skip

    refused().other_way.click()
    qtbot.waitUntil(lambda: len(asked) == 4 and panel.job.state is JobState.SUCCEEDED)
    assert asked[-1] == SyncRequest("studio", Engine.PLAYOUT, primary="backup")


def test_the_direction_follows_the_active_server(
    qtbot: Any, loop: asyncio.AbstractEventLoop, inventory_file: Path, tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    session = session_of(inventory_file, tmp_path)
    panel = SyncPanel(session, make_runner(session))
    qtbot.addWidget(panel)
    panel.set_cluster("studio")
    panel.direction.source.setCurrentIndex(panel.direction.source.findData("backup"))
    assert panel.direction.arrow.text() == "backup → main"
    panel.set_cluster("studio")  # the same cluster, the same active server: the pick stays
    assert panel.direction.chosen() == "backup"
    cluster = session.cluster("studio")
    assert cluster is not None
    task = session.tasks.spawn(
        session.replace_cluster("studio", dataclasses.replace(cluster, active="backup"))
    )
    qtbot.waitUntil(task.done)
    assert panel.direction.source.currentText() == "backup (active)"
    assert [panel.direction.source.itemText(i) for i in range(2)] == ["main", "backup (active)"]
    assert panel.direction.arrow.text() == "backup → main"


def test_the_history_dialog_shows_who_did_what_and_the_changes(
    qtbot: Any, loop: asyncio.AbstractEventLoop, inventory_file: Path, tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    session = session_of(inventory_file, tmp_path)
    dialog = HistoryDialog(session, "studio")
    qtbot.addWidget(dialog)
    qtbot.waitUntil(dialog.refresh_button.isEnabled)  # the first read (no servers)
    history = ClusterHistory(
        "studio",
        (
            HistoryEntry(
                "j2",
                1_700_000_100,
                "sync",
                "Synchronize studio: main → backup (delta)",
                "alice",
                "desk-a",
                "failed",
                str(CHANGES),
                ("backup", "main"),
            ),
            HistoryEntry(
                "j1",
                1_700_000_000,
                "switchover",
                "Switch studio over to backup",
                "bob",
                "desk-b",
                "succeeded",
                "",
                ("backup",),
                ("backup: active server main → backup",),
            ),
        ),
        (("main", "connection refused"),),
    )
    dialog.show_history(history)
    table = dialog.table
    rows = [[table.topLevelItem(i).text(c) for c in range(6)] for i in range(2)]
    assert [r[1:] for r in rows] == [
        ["alice@desk-a", "Synchronize studio: main → backup (delta)", "failed", "backup, main",
         "-"],
        ["bob@desk-b", "Switch studio over to backup", "succeeded", "backup", "1 change"],
    ]  # fmt: skip
    assert table.topLevelItem(0).child(0).text(2) == str(CHANGES)
    assert table.topLevelItem(1).child(0).text(2) == "backup: active server main → backup"
    assert dialog.state.text() == "2 jobs recorded for studio. Not read: main: connection refused"


def test_a_failed_sync_names_its_direction(
    qtbot: Any, loop: asyncio.AbstractEventLoop, inventory_file: Path, tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    session = session_of(inventory_file, tmp_path)
    runner = make_runner(session)

    async def stand_in(cluster: Cluster, request: SyncRequest, ctx: JobContext) -> object:
        raise InputError("the stand-in refused", hint="Nothing to do")

    runner._sync = stand_in  # type: ignore[method-assign]
    panel = SyncPanel(session, runner)
    qtbot.addWidget(panel)
    panel.set_cluster("studio")
    for source, target in (("main", "backup"), ("backup", "main")):
        panel.direction.source.setCurrentIndex(panel.direction.source.findData(source))
        job = panel.synchronize()
        assert job is not None
        qtbot.waitUntil(lambda job=job: job.state.is_final)
        qtbot.waitUntil(lambda: panel.failure.isVisibleTo(panel))
        assert panel.failure.banner.text() == (
            f"Not synchronized: {target} was not brought in line with {source}."
        )


def test_dialogs_closed_before_their_servers_answer_leave_no_error(
    qtbot: Any, loop: asyncio.AbstractEventLoop, inventory_file: Path, tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    session = session_of(inventory_file, tmp_path)
    errors: list[str] = []
    session.tasks.on_error = lambda what, exc: errors.append(f"{what}: {exc!r}")
    cluster = session.cluster("studio")
    assert cluster is not None
    for dialog in (HistoryDialog(session, "studio"), SwitchoverDialog(session, cluster)):
        Dialogs().show(dialog)  # deleted when closed, as Cluster ▸ History and Switch over…
        dialog.close()
    qtbot.waitUntil(lambda: session.tasks.running == 0)
    assert not errors
