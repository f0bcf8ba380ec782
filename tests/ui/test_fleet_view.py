"""The fleet view: with more than one cluster the window opens on every cluster at a glance;
ten clusters show problems first (a server PMC cannot reach, a link down, a cluster another
PMC holds, drift, then the healthy ones by name), the filter keeps the order, a double click
opens the cluster, and a cluster whose health changes is told to the tray."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from pmc.inventory_file import save_inventory
from tests.ui.helpers import open_window
from ui.fleet_scene import FLEET, NAMES, PROBLEMS, SWITCHED, statuses

pytestmark = pytest.mark.gui


@pytest.fixture
def fleet_file(pmc_dirs: Path) -> Path:
    path = pmc_dirs / "inventory.toml"
    save_inventory(FLEET, path)
    return path


def test_ten_clusters_open_on_the_fleet_view_problems_first(qtbot, loop, fleet_file: Path) -> None:
    window = open_window(qtbot, fleet_file)
    assert window.centre.currentWidget() is window.fleet
    window.fleet_poller.publish(statuses(PROBLEMS))
    view = window.fleet
    healthy = sorted(set(NAMES) - set(PROBLEMS))
    assert view.visible_clusters() == ["site07", "site03", "site09", "site05", *healthy]
    cells = {
        view.proxy.index(r, 0).data(): view.proxy.index(r, 1).data()
        for r in range(view.proxy.rowCount())
    }
    assert cells["site07"].endswith("unreachable")
    assert cells["site03"].endswith("link down")
    assert cells["site09"].endswith("in use: alice@desk-7 (import into backup)")
    assert cells["site05"].endswith("drift")
    assert cells["site01"].endswith("in sync")
    active = {
        view.proxy.index(r, 0).data(): view.proxy.index(r, 2).data()
        for r in range(view.proxy.rowCount())
    }
    assert active[SWITCHED] == "backup"  # the inventory's active server
    assert {active[n] for n in NAMES if n != SWITCHED} == {"main"}
    assert view.title.text() == "10 clusters, 4 needing a look"
    view.filter.setText("SITE0")  # by name, any case; problems still first
    assert view.visible_clusters() == ["site07", "site03", "site09", "site05"] + [
        n for n in healthy if n.startswith("site0")
    ]
    view.filter.clear()
    view.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # sortable by any column
    assert view.visible_clusters() == sorted(NAMES, reverse=True)


def test_a_health_change_is_told_to_the_tray_and_a_row_opens_its_cluster(
    qtbot, loop, fleet_file: Path
) -> None:
    window = open_window(qtbot, fleet_file)
    window.fleet_poller.publish(statuses({}))
    with qtbot.waitSignal(window.tray.notified, timeout=5000) as told:
        window.fleet_poller.publish(statuses({"site04": "link down"}))
    title, message = told.args
    assert title.startswith("site04 has a failure")
    assert "TCP 22·2001·5555" in message
    view = window.fleet
    row = view.visible_clusters().index("site04")
    index = view.proxy.index(row, 0)
    view.table.doubleClicked.emit(index)
    assert window.tree.current() == ("site04", None)
    assert window.centre.currentWidget() is window.topology
    window.commands["show_fleet"].trigger()
    assert window.centre.currentWidget() is window.fleet
