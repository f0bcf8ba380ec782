"""The main window over an inventory: tree, topology, status table and their selection."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QLabel

from pmc.cluster_lock import Holder
from pmc.health_model import State
from pmc.status import Check, ClusterStatus, Health, LinkKind, ServerStatus, empty_status
from tests.ui.helpers import open_window

pytestmark = pytest.mark.gui


def test_window_shows_the_inventory(qtbot, loop, inventory_file: Path) -> None:
    window = open_window(qtbot, inventory_file)
    tree = window.tree
    assert tree.topLevelItemCount() == 1
    studio = tree.topLevelItem(0)
    assert studio.text(0) == "studio"
    assert [studio.child(i).text(1) for i in range(studio.childCount())] == [
        "127.168.1.105",
        "127.168.1.108",
    ]
    scene = window.topology.topology
    assert set(scene.nodes) == {"main", "backup"}
    kinds = sorted({item.link.kind for item in scene.links.values()})
    assert kinds == sorted(LinkKind)  # management, eth2, HTTP, TCP, UDP
    assert window.status.servers == ["main", "backup"]
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&Server", "&Cluster", "&View", "&Help"]


def test_clicking_a_node_selects_it_in_tree_and_table(qtbot, loop, inventory_file: Path) -> None:
    window = open_window(qtbot, inventory_file)
    view = window.topology
    node = view.topology.nodes["backup"]
    centre = view.mapFromScene(node.sceneBoundingRect().center())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert window.tree.current() == ("studio", "backup")
    rows = window.status.table.selectionModel().selectedRows()
    assert [window.status.table.item(r.row(), 0).text() for r in rows] == ["backup"]


def test_clicking_a_link_selects_its_server(qtbot, loop, inventory_file: Path) -> None:
    window = open_window(qtbot, inventory_file)
    view = window.topology
    link = view.topology.links["tcp:main:backup"]
    point = link.path().pointAtPercent(0.5)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(point))
    assert link.isSelected()
    assert window.tree.current() == ("studio", "backup")


def test_status_colours_links_and_cells(qtbot, loop, inventory_file: Path) -> None:
    window = open_window(qtbot, inventory_file)
    cluster = window.selection.current_cluster()
    assert cluster is not None
    now = time.time()
    base = empty_status(cluster)
    links = dict(base.links)
    links["tcp:main:backup"] = Check(Health.DOWN, "1 of 3 closed", now, "TCP 2001 timed out")
    links["http:main:backup"] = Check(Health.UP, "TCP 80 open", now)
    servers = {
        "main": ServerStatus("main", api=Check(Health.UP, "active (running)", now)),
        "backup": ServerStatus("backup", api=Check(Health.DOWN, "failed", now, "exit 3")),
    }
    window.poller.publish(cluster, ClusterStatus("studio", servers, links, now))
    scene = window.topology.topology
    assert scene.link_state("tcp:main:backup") is State.FAILED
    assert "TCP 2001 timed out" in scene.links["tcp:main:backup"].toolTip()
    assert scene.link_state("http:main:backup") is State.OK
    assert scene.link_state("udp:main:backup") is State.UNKNOWN
    api = window.status.cell("backup", "Playout API")
    assert api is not None and "failed" in api.text()
    assert api.data(Qt.ItemDataRole.UserRole) == "failed"
    tcp = window.status.cell("backup", "TCP 22·2001·5555")
    assert tcp is not None and tcp.data(Qt.ItemDataRole.UserRole) == "failed"


def test_zoom_fit_and_export(qtbot, loop, inventory_file: Path, tmp_path: Path) -> None:
    window = open_window(qtbot, inventory_file)
    view = window.topology
    before = view.transform().m11()
    window.commands["zoom_in"].trigger()
    assert view.transform().m11() > before
    window.commands["zoom_fit"].trigger()
    png, svg = tmp_path / "t.png", tmp_path / "t.svg"
    view.export(png)
    view.export(svg)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in svg.read_text() and "main" in svg.read_text()


def test_about_lists_versions(qtbot, loop, inventory_file: Path) -> None:
    from ui.about_dialog import AboutDialog

    window = open_window(qtbot, inventory_file)
    window.commands["about"].trigger()
    dialog = window.dialogs.last
    assert isinstance(dialog, AboutDialog)
    table = dialog.findChild(QLabel, "versions")
    for name in ("PMC", "Qt", "Python", "paramiko", qVersion()):
        assert name in table.text()
    dialog.close()


def test_export_and_import_open_on_the_selected_server(qtbot, loop, inventory_file: Path) -> None:
    from ui.export_dialog import ExportDialog
    from ui.import_dialog import ImportDialog

    window = open_window(qtbot, inventory_file)  # no SSH transport in this session
    window.tree.select("studio", "main")
    window.commands["export_settings"].trigger()
    export = window.dialogs.last
    assert isinstance(export, ExportDialog)
    qtbot.waitExposed(export)
    assert export.chosen()[1].name == "main"
    assert export.server.currentText() == "studio / main  (127.168.1.105)"
    assert Path(export.path.text()).name.startswith("main-")
    assert not export.export_button.isEnabled()  # nothing to export through
    export.close()
    window.tree.select("studio", "backup")
    window.commands["import_settings"].trigger()
    importer = window.dialogs.last
    assert isinstance(importer, ImportDialog)
    qtbot.waitExposed(importer)
    assert importer.server.currentText() == "studio / backup  (127.168.1.108)"
    assert not importer.import_button.isEnabled()  # no bundle chosen, nothing previewed
    importer.close()
    assert window.sync is None and not window.commands["synchronize"].isEnabled()  # no SSH


def test_settings_persist(qtbot, loop, inventory_file: Path, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from ui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "pmc.ini"), QSettings.Format.IniFormat)
    window = open_window(qtbot, inventory_file)
    window.settings = settings
    window.status.interval.setValue(42)
    window.close()
    again = MainWindow(window.session, settings)
    qtbot.addWidget(again)
    assert again.status.interval.value() == 42
    assert again.poller.interval == 42


def test_a_locked_cluster_shows_who_holds_it(qtbot, loop, inventory_file: Path) -> None:
    window = open_window(qtbot, inventory_file)
    cluster = window.selection.current_cluster()
    label = window.status.lock_label
    assert label.isHidden()
    holder = Holder("alice", "desk-1", "1.0", "import main.pmcbundle into backup", time.time())
    now = time.time()
    servers = {
        "main": ServerStatus("main", Check(Health.UP, "SSH", now)),
        "backup": ServerStatus("backup", Check(Health.UP, "SSH", now), locked_by=holder),
    }
    window.poller.publish(cluster, ClusterStatus("studio", servers, {}, now))
    assert not label.isHidden()
    assert label.text().startswith(
        "🔒 Cluster studio is in use: alice on desk-1 (PMC 1.0) runs "
        "'import main.pmcbundle into backup' since "
    )
    assert label.text().endswith("(on backup)")
    window.poller.publish(cluster, ClusterStatus("studio", {"main": servers["main"]}, {}, now))
    assert label.isHidden()
