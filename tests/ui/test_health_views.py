"""One judgement everywhere (pmc.health read by the table, the diagram, the tree, the status
bar and the tray), a status table that never hides the cause at 1280 pixels, a diagram that
follows dark mode switched while PMC runs, probes that go on while the window is hidden, and
notifications of state changes at a pace. No servers: statuses are published as the probes
would."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from pmc.copy_config_log import read_runs
from pmc.health_model import Aspect, State
from pmc.jobs import Job
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool
from pmc.status import Check, ClusterStatus, Health, ReplicationFacts, ServerStatus, links_of
from tests.ui.helpers import assert_nothing_elided, open_window

pytestmark = pytest.mark.gui

NOW = time.time()
FAILED_RUN = [
    "2025-02-05 12:23:44 /opt/playout/bin/copy_config.sh: Wed Feb  5 12:23:44 UTC 2025: "
    "Copy config starting on 127.168.1.105",
    "2025-02-05 12:23:45 /opt/playout/bin/copy_config.sh: Checking failover on slave... "
    "returned 127",
    "2025-02-05 12:23:45 /opt/playout/bin/copy_config.sh: Failure, setting replication status "
    "to stopped.",
]
# cause texts as the lab produces them (tests/ui/test_sync_lab_gui.py checks the real ones)
SSH_DOWN = (
    "backup (127.168.1.108): no SSH handshake with 127.168.1.108:22 within 15 s (banner "
    "timeout): Error reading SSH protocol banner. Check that this address and port are the "
    "server's SSH service"
)


def failing_status(window: Any) -> ClusterStatus:
    cluster = window.selection.current_cluster()
    up = Check(Health.UP, "ok", NOW)
    main = ServerStatus(
        "main", up, up, up, Check(Health.UP, "stopped", NOW), Check(Health.UP, "x", NOW),
        Check(Health.UP, "in sync", NOW),
        ReplicationFacts("stopped", "2025-02-05 12:23:45", "", read_runs(FAILED_RUN)),
    )  # fmt: skip
    backup = ServerStatus(
        "backup", up, Check(Health.DOWN, "failed", NOW, "systemctl is-active: failed"),
        Check(Health.DOWN, "127.17.59.129:5432 not reachable from main", NOW,
              "from main to 127.17.59.129: TCP 5432 timed out (filtered?)"),
        up, up, Check(Health.UP, "in sync", NOW), ReplicationFacts("stopped"),
    )  # fmt: skip
    links = {link.key: up for link in links_of(cluster)}
    links["udp:main:backup"] = Check(
        Health.DOWN, "UDP 161 closed", NOW, "from main to 127.168.1.108: UDP 161 down no answer"
    )
    links["http:main:backup"] = Check(
        Health.DOWN, "TCP 80 closed", NOW, "from main to 127.168.1.108: TCP 80 refused"
    )
    return ClusterStatus("studio", {"main": main, "backup": backup}, links, NOW)


def test_one_judgement_in_table_diagram_tree_status_bar_and_tray(
    qtbot: Any, loop: Any, inventory_file: Path
) -> None:
    window = open_window(qtbot, inventory_file)
    cluster = window.selection.current_cluster()
    window.poller.publish(cluster, failing_status(window))
    # the table: replication failed on main, with the failure on the details line
    replication = window.status.cell("main", "Replication")
    assert replication.text() == "stopped after a failure"
    assert replication.data(Qt.ItemDataRole.UserRole) == "failed"
    assert "failover" in window.status.details("main") and "127" in window.status.details("main")
    for column in ("HTTP 80", "UDP 161·162", "eth2 link", "Playout API"):
        assert window.status.cell("backup", column).data(Qt.ItemDataRole.UserRole) == "failed"
    # the diagram: the same states
    scene = window.topology.topology
    assert scene.nodes["main"].state is State.FAILED
    assert scene.nodes["main"].status_line() == (
        State.FAILED,
        "Replication: stopped after a failure",
    )
    for key in ("udp:main:backup", "http:main:backup", "redundancy:main:backup"):
        assert scene.link_state(key) is State.FAILED, key
    assert scene.link_state("tcp:main:backup") is State.OK
    # the tree's badges, the status bar and the tray
    assert window.tree.state_of("studio", "main") == "failed"
    assert window.tree.state_of("studio") == "failed"
    health = window.poller.health
    assert health.summary.startswith("studio: ")
    assert health.summary in window.health_label.text()
    assert window.tray.health_action.text() == health.summary
    assert health.summary in window.tray.tooltip()


def test_the_status_table_never_hides_the_cause_at_1280(
    qtbot: Any, loop: Any, inventory_file: Path
) -> None:
    window = open_window(qtbot, inventory_file)
    window.resize(1280, 720)
    window.status_dock.raise_()
    cluster = window.selection.current_cluster()
    status = failing_status(window)
    down = Check(Health.DOWN, "unreachable", NOW, SSH_DOWN)
    gone = Check(Health.UNKNOWN, "server unreachable", NOW, SSH_DOWN)
    backup = ServerStatus("backup", down, gone, status.servers["backup"].postgres, gone, gone)
    status = ClusterStatus("studio", {**status.servers, "backup": backup}, status.links, NOW)
    window.poller.publish(cluster, status)
    qtbot.waitUntil(lambda: window.status.table.viewport().width() > 800)
    assert_nothing_elided(qtbot, window.status)
    details = window.status.details("backup")
    assert SSH_DOWN in details  # the whole cause, on the line under the row
    window.status.copy_button.click()
    copied = QApplication.clipboard().text()
    assert SSH_DOWN in copied and "stopped after a failure" in copied
    # a narrower window: still no cell elided (the table scrolls instead)
    window.resize(1000, 700)
    qtbot.waitUntil(lambda: window.status.table.viewport().width() < 1000)
    window.poller.publish(cluster, status)
    assert_nothing_elided(qtbot, window.status)


def diagram_colours(scene: Any) -> dict[str, str]:
    """The colours the diagram draws in (plain data: the items go when the scene is redrawn)."""
    legend = {
        item.text(): item.brush().color().name()
        for item in scene.items()
        if item.type() == 9 and item.parentItem() is None  # the legend's texts
    }
    box = next(item for item in scene.items() if item.type() == 3)  # the operator's box
    return {
        "udp": scene.links["udp:main:backup"].pen().color().name(),
        "UDP 161, 162": legend["UDP 161, 162"],
        "failed": legend["failed"],
        "not checked": legend["not checked"],
        "operator": box.brush().color().name(),
    }


def test_dark_mode_switched_while_running_repaints_the_diagram(
    qtbot: Any, loop: Any, inventory_file: Path
) -> None:
    from ui.app import make_palette

    app = QApplication.instance()
    window = open_window(qtbot, inventory_file)
    light = diagram_colours(window.topology.topology)
    old = app.palette()
    try:
        app.setPalette(make_palette(dark=True))  # what ui.app does when the OS switches
        app.setStyleSheet(app.styleSheet())
        qtbot.waitUntil(lambda: diagram_colours(window.topology.topology)["udp"] != light["udp"])
        dark = diagram_colours(window.topology.topology)
        text = app.palette().color(QPalette.ColorRole.Text).name()
        assert dark["UDP 161, 162"] == dark["failed"] == dark["not checked"] == text
        assert dark["operator"] == app.palette().color(QPalette.ColorRole.AlternateBase).name()
        assert dark["operator"] != light["operator"]
    finally:
        app.setPalette(old)
        app.setStyleSheet(app.styleSheet())
    qtbot.waitUntil(lambda: diagram_colours(window.topology.topology) == light)


def test_probes_go_on_while_hidden_and_changes_are_notified_at_a_pace(
    qtbot: Any, loop: Any, inventory_file: Path, tmp_path: Path
) -> None:
    pool = ConnectionPool(known_hosts=KnownHosts(tmp_path / "known_hosts"))
    window = open_window(qtbot, inventory_file, pool=pool)
    assert window.poller.polling
    window.hide()
    assert window.poller.polling  # hidden in the tray: the tray still needs the status
    window.poller.stop()
    cluster = window.selection.current_cluster()
    clock = [1000.0]
    window.tray.clock = lambda: clock[0]
    notes: list[tuple[str, str]] = []
    window.tray.notified.connect(lambda title, text: notes.append((title, text)))
    good = failing_status(window)
    good = ClusterStatus(
        "studio",
        {n: ServerStatus(n, *[Check(Health.UP, "ok", NOW)] * 4) for n in ("main", "backup")},
        {k: Check(Health.UP, "ok", NOW) for k in good.links},
        NOW,
    )
    window.poller.publish(cluster, good)
    bad_links = dict(good.links)
    bad_links["http:main:backup"] = Check(Health.DOWN, "TCP 80 closed", NOW, "TCP 80 refused")
    bad = ClusterStatus("studio", good.servers, bad_links, NOW)
    window.poller.publish(cluster, bad)
    assert len(notes) == 1 and notes[0][0] == "studio has a failure"
    assert "backup · HTTP 80: failed" in notes[0][1]
    clock[0] += 10  # recovered ten seconds later: told, but not yet
    window.poller.publish(cluster, good)
    assert len(notes) == 1 and window.tray.pacer.waiting
    clock[0] += 60
    window.tray._send_alerts()  # what the tray's timer does when the minute is over
    assert len(notes) == 2 and notes[1][0] == "studio recovered"
    assert window.poller.health.servers["backup"].findings[Aspect.HTTP].state is State.OK
    closing = window.session.tasks.spawn(pool.close())
    qtbot.waitUntil(closing.done)


def test_a_job_that_changes_servers_has_the_drift_compared_again(
    qtbot: Any, loop: Any, inventory_file: Path, tmp_path: Path
) -> None:
    pool = ConnectionPool(known_hosts=KnownHosts(tmp_path / "known_hosts"))
    window = open_window(qtbot, inventory_file, pool=pool)
    window.poller.stop()
    window.hide()  # nothing probes meanwhile
    drift = window.drift
    assert drift is not None
    drift.remember("studio", object())  # type: ignore[arg-type]  # a fresh report
    session = window.session

    async def body(ctx: Any) -> None:
        return None

    def followed() -> list[str]:
        return [t.get_name() for t in asyncio.all_tasks(loop) if t.get_name() == "after a job"]

    export = Job("export", "Export main", body, cluster="studio")
    session.run_job(export)
    assert followed() == []  # an export changes no server: nothing to compare again
    qtbot.waitUntil(lambda: export.state.is_final)
    for kind in ("setup-apply", "import", "sync"):
        drift.remember("studio", object())  # type: ignore[arg-type]
        job = Job(kind, f"a {kind} of studio", body, cluster="studio")  # type: ignore[arg-type]
        session.run_job(job)
        qtbot.waitUntil(lambda: drift.due("studio"))  # compared again at the next refresh
        assert job.state.is_final, kind
    closing = window.session.tasks.spawn(pool.close())
    qtbot.waitUntil(closing.done)


def test_the_diagram_stays_readable_with_the_sync_panel_open(
    qtbot: Any, loop: Any, inventory_file: Path, tmp_path: Path
) -> None:
    from ui.topology_view import MIN_FIT_SCALE

    pool = ConnectionPool(known_hosts=KnownHosts(tmp_path / "known_hosts"))
    window = open_window(qtbot, inventory_file, pool=pool)
    window.poller.stop()
    window.resize(1280, 720)
    window.sync_flows.show_sync_panel()
    view = window.topology
    dock = window.sync_dock
    assert dock is not None
    qtbot.waitUntil(lambda: dock.isVisible() and dock.height() > 200)  # it took its room
    qtbot.waitUntil(lambda: view.viewport().height() < 400)
    assert window.minimumSizeHint().width() <= 1280  # its controls fit a 1280 px screen
    window.commands["zoom_fit"].trigger()
    assert view.transform().m11() >= MIN_FIT_SCALE  # never the ~8 px text of a forced fit
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    for node in view.topology.nodes.values():  # the servers stay in view, whole
        assert shown.contains(node.sceneBoundingRect()), node.name
    closing = window.session.tasks.spawn(pool.close())
    qtbot.waitUntil(closing.done)
