"""The sync front end without servers: right-click menus of the cluster tree, icons that stay
visible on a selected row and bright on a dark palette, the tray (last result, notification
on failure), closing into the tray while schedules run (asked once, remembered), Quit from
the tray cancelling schedules, schedules kept in the inventory (moved there from QSettings once,
followed when the file is re-read). The engines are replaced by a
stand-in body here; they run against the lab in test_sync_lab_gui.py."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QMessageBox

from pmc.errors import PmcError
from pmc.inventory import Cluster, Inventory, SyncEngine, SyncSchedule
from pmc.inventory_file import load_inventory, save_inventory
from pmc.jobs import JobContext, JobState
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool
from pmc.sync.runner import SyncRequest
from tests.ui.helpers import open_window, wait_dialog

# the offscreen platform's notes when a menu pops up or the window is raised from the tray
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("This plugin does not support")]


@pytest.fixture
def window(
    qtbot: Any, loop: asyncio.AbstractEventLoop, inventory_file: Path, tmp_path: Path
) -> Any:
    pool = ConnectionPool(known_hosts=KnownHosts(tmp_path / "known_hosts"))
    win = open_window(qtbot, inventory_file, pool=pool)
    win.poller.stop()  # no servers to probe here
    return win


def _stand_in(window: Any, gate: asyncio.Event | None = None, fail: bool = False) -> None:
    async def fake_sync(cluster: Cluster, request: SyncRequest, ctx: JobContext) -> object:
        ctx.progress(0.5, 1.0, message="Comparing tables")
        if gate is not None:
            await gate.wait()
        await ctx.acheckpoint()
        if fail:
            raise PmcError("backup's PostgreSQL refused the connection", where="backup")
        return "1 row copied"

    window.runner._sync = fake_sync


def _texts(menu: Any) -> list[str]:
    return [a.text() if not a.isSeparator() else "—" for a in menu.actions()]


def test_tree_context_menus(qtbot: Any, window: Any) -> None:
    tree = window.tree
    top = tree.topLevelItem(0)
    server_rect = tree.visualItemRect(top.child(0))
    menu = tree.context_menu_at(server_rect.center())
    assert tree.current() == ("studio", "main")
    assert _texts(menu) == [
        "&Connect", "&Edit…", "&Remove", "—", "Setup &redundancy…", "&Verify",
        "&Synchronize all servers", "—", "Se&ttings",
    ]  # fmt: skip
    settings = menu.actions()[-1].menu()
    assert _texts(settings) == ["&Export…", "&Import…"]
    assert all(a.isEnabled() for a in settings.actions())

    cluster_menu = tree.context_menu_at(tree.visualItemRect(top).center())
    assert tree.current() == ("studio", None)
    assert _texts(cluster_menu) == [
        "&Connect", "&Edit…", "&Add…", "—", "Setup &redundancy…", "&Verify",
        "&Synchronize all servers",
    ]  # fmt: skip
    assert not window.commands["remove_server"].isEnabled()  # a cluster row: nothing to remove

    # a real right-click request pops the menu up; Synchronize from it opens the sync panel
    tree.customContextMenuRequested.emit(tree.visualItemRect(top).center())
    qtbot.waitUntil(lambda: tree.context_menu is not None and tree.context_menu.isVisible())
    gate = asyncio.Event()
    _stand_in(window, gate)
    tree.context_menu.close()
    window.commands["synchronize"].trigger()
    job = window.sync.job
    assert job is not None and job.cluster == "studio"
    assert window.sync_dock.isVisible()
    qtbot.waitUntil(lambda: window.sync.progress.value() == 50)
    gate.set()
    qtbot.waitUntil(lambda: job.state is JobState.SUCCEEDED)
    qtbot.waitUntil(lambda: window.sync.result.text().startswith("✔"))
    qtbot.waitUntil(lambda: "studio: synchronized" in window.tray.result_action.text())
    item = window.jobs.tree.topLevelItem(0)
    assert item.text(0) == job.title and item.text(2) == "succeeded"


def _opaque_colours(icon: QIcon, mode: QIcon.Mode) -> list[QColor]:
    image = icon.pixmap(24, 24, mode).toImage()
    return [
        image.pixelColor(x, y)
        for x in range(image.width())
        for y in range(image.height())
        if image.pixelColor(x, y).alpha() > 200
    ]


def _contrast(a: QColor, b: QColor) -> float:
    def lum(c: QColor) -> float:
        return 0.2126 * c.redF() + 0.7152 * c.greenF() + 0.0722 * c.blueF()

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_icons_stay_visible_on_selected_rows_and_bright_on_dark(qtbot: Any, window: Any) -> None:
    from ui.app import make_palette
    from ui.icons import icon

    app = QApplication.instance()
    highlight = app.palette().color(QPalette.ColorRole.Highlight)
    text = _contrast(app.palette().color(QPalette.ColorRole.HighlightedText), highlight)
    selected = _opaque_colours(icon("cluster"), QIcon.Mode.Selected)
    # drawn like the selected row's text (before: Qt tinted the grey and blue icon blue)
    assert selected and min(_contrast(c, highlight) for c in selected) > text - 0.1

    # the selected cluster row, as painted: its icon stands out of the highlight
    tree = window.tree
    tree.setFocus()
    tree.select("studio")
    rect = tree.visualItemRect(tree.topLevelItem(0))
    image = tree.viewport().grab(rect).toImage()
    icon_area = [
        image.pixelColor(x, y) for x in range(0, 40) for y in range(image.height())
    ]  # fmt: skip
    assert sum(_contrast(c, highlight) > text - 0.2 for c in icon_area) > 20

    old = app.palette()
    try:
        app.setPalette(make_palette(dark=True))
        background = app.palette().color(QPalette.ColorRole.Base)
        for name in ("cluster", "server", "sync", "refresh"):
            colours = _opaque_colours(icon(name), QIcon.Mode.Normal)
            mean = sum(_contrast(c, background) for c in colours) / len(colours)
            assert mean > 4.0, (name, mean)  # the plain SVG grey: about 2.7 (dim)
    finally:
        app.setPalette(old)


def test_tray_shows_last_result_and_notifies_a_failure(qtbot: Any, window: Any) -> None:
    _stand_in(window, fail=True)
    with qtbot.waitSignal(window.tray.notified, timeout=10000) as notified:
        job = window.sync_flows.synchronize_now()
    assert notified.args[0] == "Synchronization of studio failed"
    assert "refused the connection" in notified.args[1]
    assert job.state is JobState.FAILED
    assert "studio: synchronization failed: backup: backup's PostgreSQL refused" in (
        window.tray.result_action.text()
    )
    assert window.tray.last_failed
    qtbot.waitUntil(lambda: window.sync.result.text().startswith("✖"))


def test_close_keeps_running_in_the_tray_then_quit_cancels(
    qtbot: Any, loop: Any, inventory_file: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    from ui.main_window import MainWindow
    from ui.tray import SyncTray

    monkeypatch.setattr(SyncTray, "available", property(lambda self: True))
    settings = QSettings(str(tmp_path / "pmc.ini"), QSettings.Format.IniFormat)
    pool = ConnectionPool(known_hosts=KnownHosts(tmp_path / "known_hosts"))
    window = open_window(qtbot, inventory_file, pool=pool)
    window.poller.stop()
    window.settings = settings
    # a schedule: every 30 minutes, saved in the inventory; the runner follows the file
    window.sync.every_minutes.setValue(30)
    window.sync.every.setChecked(True)
    assert window.sync.schedule_state.text() == "every 30 min (saving…)"
    qtbot.waitUntil(lambda: bool(window.runner.schedules))
    assert [(s.cluster, s.every_minutes) for s in window.runner.schedules] == [("studio", 30)]
    assert window.sync.schedule_state.text() == "every 30 min"
    saved = load_inventory(inventory_file).inventory.cluster("studio").sync
    assert saved == SyncSchedule(every_minutes=30)
    assert "every_minutes = 30" in inventory_file.read_text()
    assert not settings.allKeys()

    # closing asks once; "keep running" hides the window, the schedule goes on
    window.close()
    box = wait_dialog(qtbot, QMessageBox)
    assert box.objectName() == "keepInTrayQuestion"
    keep = next(b for b in box.buttons() if b.text() == "Keep running in the tray")
    keep.click()
    qtbot.waitUntil(lambda: not window.isVisible())
    assert window.runner.schedules and settings.value("tray/on_close") == "tray"
    assert window.sync_flows.tray_keep.isChecked()
    window.tray.show_action.trigger()
    qtbot.waitUntil(window.isVisible)
    window.close()  # remembered: no question this time
    qtbot.waitUntil(lambda: not window.isVisible())
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    assert not [b for b in boxes if b.isVisible()]

    # Quit from the tray: schedules cancelled, the app asked to quit
    quits: list[int] = []
    window.sync_flows.quit_app = lambda: quits.append(1)
    window.tray.quit_action.trigger()
    qtbot.waitUntil(lambda: quits == [1], timeout=10000)
    assert window.runner.schedules == []

    # the next start runs the inventory's schedule
    again = MainWindow(window.session, settings)
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: bool(again.runner.schedules))
    assert [(s.cluster, s.every_minutes) for s in again.runner.schedules] == [("studio", 30)]
    again.sync.set_cluster("studio")
    assert again.sync.every.isChecked() and again.sync.every_minutes.value() == 30
    again.sync.every.setChecked(False)
    qtbot.waitUntil(lambda: again.sync.schedule_state.text() == "off")
    assert again.runner.schedules == []
    assert load_inventory(inventory_file).inventory.cluster("studio").sync is None
    assert "[clusters.sync]" not in inventory_file.read_text()
    closing = again.session.tasks.spawn(again.runner.close())
    qtbot.waitUntil(closing.done)
    # neither window is shown: the session's reloads did not start their status probes
    assert not window.poller.polling and not again.poller.polling


def test_make_runner_confirm_waits_without_a_nested_event_loop(qtbot: Any, window: Any) -> None:
    """make_runner's own prompt (a window-modal QMessageBox opened with open(), awaited
    through a future): while it waits, other tasks and timers of the loop keep running."""
    from pmc.plan import Plan, Step, StepKind
    from pmc.sync.copy_config import Remediation
    from pmc.sync.copy_output import Failure, FailureKind
    from ui.sync_runner import make_runner

    runner = make_runner(window.session, window)
    fix = Remediation(
        Failure(FailureKind.FAILOVER_NOT_CHECKED, "Checking failover on slave", 127,
                "Checking failover on slave... returned 127"),
        "check_failover.sh has not been run on backup",
        Plan("studio", "copy-config-fix", (
            Step(StepKind.RUN, "backup", "run check_failover.sh", "the vendor's manual's fix",
                 argv=("/opt/playout/bin/check_failover.sh", "127.17.59.128")),
        )),
    )  # fmt: skip
    answer = window.session.tasks.spawn(runner.confirm(fix))
    ticks: list[int] = []

    async def ticking() -> None:
        for n in range(5):
            await asyncio.sleep(0.01)  # deliberate: timers of the loop fire while the box is open
            ticks.append(n)

    box = wait_dialog(qtbot, QMessageBox)
    assert box.objectName() == "syncRemediation" and "returned 127" in box.text()
    other = window.session.tasks.spawn(ticking())
    qtbot.waitUntil(other.done)  # the loop runs on: the box did not nest one
    assert ticks == [0, 1, 2, 3, 4] and not answer.done()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(answer.done)
    assert answer.result() is True


def test_sync_panel_lists_what_each_server_did(qtbot: Any, window: Any) -> None:
    async def fake_sync(cluster: Cluster, request: SyncRequest, ctx: JobContext) -> object:
        ctx.log("compared 41 tables", server="main")
        ctx.log("copied 1 row", server="backup")
        return "1 row copied"

    window.runner._sync = fake_sync
    job = window.sync_flows.synchronize_now()
    qtbot.waitUntil(lambda: job.state is JobState.SUCCEEDED)
    servers = window.sync.servers
    qtbot.waitUntil(lambda: servers.topLevelItemCount() == 2)
    rows = {servers.topLevelItem(i).text(0): servers.topLevelItem(i).text(1) for i in range(2)}
    assert rows == {"main": "compared 41 tables", "backup": "copied 1 row"}


def test_qsettings_schedules_move_into_the_inventory_once(
    qtbot: Any, loop: Any, inventory_file: Path, tmp_path: Path
) -> None:
    from ui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "pmc.ini"), QSettings.Format.IniFormat)
    settings.setValue("sync/schedule/studio/every", 20)
    settings.setValue("sync/schedule/studio/on_drift", "true")
    settings.setValue("sync/schedule/studio/check", 3)
    settings.setValue("sync/schedule/studio/engine", "playout")
    settings.setValue("sync/schedule/elsewhere/every", 10)  # not in this inventory: kept
    settings.setValue("tray/on_close", "tray")
    before = inventory_file.read_text()
    pool = ConnectionPool(known_hosts=KnownHosts(tmp_path / "known_hosts"))
    window = open_window(qtbot, inventory_file, pool=pool)
    window.poller.stop()
    window.close()  # this window had no settings; the next one has
    window = MainWindow(window.session, settings)
    qtbot.addWidget(window)
    window.poller.stop()
    qtbot.waitUntil(lambda: bool(window.runner.schedules))
    wanted = SyncSchedule(
        every_minutes=20, on_drift=True, check_minutes=3, engine=SyncEngine.PLAYOUT
    )
    assert load_inventory(inventory_file).inventory.cluster("studio").sync == wanted
    assert inventory_file.read_text().startswith(before.rstrip("\n"))  # appended in place
    (schedule,) = window.runner.schedules
    assert (schedule.cluster, schedule.every_minutes, schedule.on_drift) == ("studio", 20, True)
    kept = [k for k in settings.allKeys() if k.startswith("sync/")]
    assert kept == ["sync/schedule/elsewhere/every"] and settings.value("tray/on_close") == "tray"
    window.sync.set_cluster("studio")
    assert window.sync.schedule_state.text() == "every 20 min; on drift (checked every 3 min)"
    closing = window.session.tasks.spawn(window.runner.close())
    qtbot.waitUntil(closing.done)


def test_runner_follows_the_inventory_when_it_is_read_again(
    qtbot: Any, window: Any, inventory_file: Path
) -> None:
    loaded = load_inventory(inventory_file).inventory
    studio = loaded.cluster("studio")
    changed = dataclasses.replace(studio, sync=SyncSchedule(on_drift=True, check_minutes=2))
    save_inventory(Inventory((changed,)), inventory_file)  # edited elsewhere (pmc sync schedule)
    window.session.load()
    qtbot.waitUntil(lambda: bool(window.runner.schedules))
    (schedule,) = window.runner.schedules
    assert (schedule.cluster, schedule.on_drift, schedule.check_minutes) == ("studio", True, 2)
    window.sync.set_cluster("studio")
    assert window.sync.on_drift.isChecked() and not window.sync.every.isChecked()
    # the runner looks clusters up in the inventory read last
    assert window.runner._clusters("studio") == changed
    save_inventory(loaded, inventory_file)
    window.session.load()
    qtbot.waitUntil(lambda: window.runner.schedules == [])
    assert not window.sync.on_drift.isChecked()
