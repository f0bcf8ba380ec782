"""The first run, an operator's first minutes: an empty inventory shows the welcome page (not
three empty panes), with the commands that need something to act on disabled; a cluster is
added in two clicks, an inventory imported (and a clashing one refused, changing nothing);
the changed-host-key warning shows both fingerprints whole; Help ▸ Show log reads PMC's log;
the window fits the screen it opens on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from pmc.inventory import Architecture, Cluster, Inventory, Role, Server
from pmc.inventory_file import load_inventory, save_inventory
from pmc.remote.errors import HostKeyChanged
from tests.ui.conftest import SEED_LIKE
from tests.ui.helpers import open_window, wait_dialog
from ui.cluster_dialog import ClusterDialog
from ui.error_dialog import MIN_WIDTH
from ui.first_frame import fitting_size
from ui.host_key_dialog import ChangedHostKeyDialog
from ui.lab_flows import lab_unavailable
from ui.log_viewer import LogViewer, records

pytestmark = pytest.mark.gui

NEEDS_SERVERS = ("zoom_fit", "zoom_in", "export_image", "refresh", "verify", "synchronize")


def test_an_empty_inventory_opens_on_the_welcome_page(
    qtbot: Any, loop: Any, pmc_dirs: Path
) -> None:
    path = pmc_dirs / "config" / "inventory.toml"  # no file yet: a first run
    window = open_window(qtbot, path)
    assert window.centre.currentWidget() is window.welcome
    assert window.welcome.isVisible() and not window.topology.isVisible()
    for dock in (window.tree_dock, window.status_dock, window.jobs_dock):
        assert not dock.isVisible()  # nothing to show in them yet
    for name in NEEDS_SERVERS:
        assert not window.commands[name].isEnabled(), name
    assert str(path) in window.welcome.where.text()
    why_not = lab_unavailable()
    assert window.welcome.lab_button.isEnabled() == (why_not is None)
    if why_not is not None:
        assert why_not in window.welcome.lab_button.toolTip()

    # a cluster in two clicks: the welcome page's button, then OK (typing its name between)
    qtbot.mouseClick(window.welcome.new_button, Qt.MouseButton.LeftButton)
    dialog = wait_dialog(qtbot, ClusterDialog)
    qtbot.keyClicks(dialog.name, "studio-a")
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(window.session.inventory.clusters))
    assert [c.name for c in load_inventory(path).inventory.clusters] == ["studio-a"]
    qtbot.waitUntil(lambda: window.centre.currentWidget() is window.topology)
    assert window.tree_dock.isVisible() and window.status_dock.isVisible()
    texts = [i.text() for i in window.topology.topology.items() if i.type() == 9]
    assert any("has no servers yet" in t and "Server ▸ Add" in t for t in texts)
    # still nothing drawn to fit or export, nothing to probe: only adding a server makes sense
    for name in NEEDS_SERVERS:
        assert not window.commands[name].isEnabled(), name
    assert window.commands["add_server"].isEnabled()


def _choose_file(qtbot: Any, window: Any, path: Path, before: object = None) -> None:
    qtbot.waitUntil(lambda: isinstance(window.dialogs.last, QFileDialog)
                    and window.dialogs.last is not before)  # fmt: skip
    chooser = window.dialogs.last
    qtbot.waitExposed(chooser)
    chooser.fileSelected.emit(str(path))  # what the chooser says when the operator opens it
    chooser.done(QFileDialog.DialogCode.Accepted)


def test_an_inventory_is_imported_from_the_welcome_page_and_a_clash_changes_nothing(
    qtbot: Any, loop: Any, pmc_dirs: Path
) -> None:
    other = pmc_dirs / "from-elsewhere.toml"
    save_inventory(SEED_LIKE, other)
    path = pmc_dirs / "config" / "inventory.toml"
    window = open_window(qtbot, path)
    qtbot.mouseClick(window.welcome.import_button, Qt.MouseButton.LeftButton)
    _choose_file(qtbot, window, other)
    qtbot.waitUntil(lambda: bool(window.session.inventory.clusters))
    assert window.session.inventory == SEED_LIKE
    assert load_inventory(path).inventory == SEED_LIKE
    qtbot.waitUntil(lambda: window.tree.current() == ("studio", None))
    # the same clusters again: refused, the inventory as it was
    before = path.read_bytes()
    first = window.dialogs.last
    task = window.session.tasks.spawn(window.inventory_flows.import_inventory())
    _choose_file(qtbot, window, other, first)
    qtbot.waitUntil(task.done)
    assert task.result() == [] and path.read_bytes() == before
    boxes = [b for b in window.findChildren(QMessageBox, "errorDialog") if b.isVisible()]
    said = boxes[-1].informativeText()
    assert "already has a cluster called 'studio'" in said and said.endswith("."), said
    qtbot.waitUntil(lambda: boxes[-1].width() >= MIN_WIDTH)  # three lines, not ten
    copy = next(b for b in boxes[-1].buttons() if b.objectName() == "copyError")
    copy.click()  # every error can be copied, and copying leaves it open
    assert "already has a cluster called 'studio'" in QApplication.clipboard().text()
    assert boxes[-1].isVisible()


@pytest.mark.parametrize("point_size", [9, 15])
def test_the_changed_key_warning_shows_both_fingerprints_whole(
    qtbot: Any, loop: Any, point_size: int
) -> None:
    app = QApplication.instance()
    font = app.font()
    try:
        bigger = QFont(font)
        bigger.setPointSize(point_size)
        app.setFont(bigger)
        old, new = "SHA256:" + "Ab3dEf9hIjKlMnOpQrStUvWxYz0123456789+/AbCdE", "SHA256:" + "q" * 43
        error = HostKeyChanged(server="backup (127.168.1.108)", key_type="ssh-ed25519",
                               old_fingerprint=old, new_fingerprint=new)  # fmt: skip
        dialog = ChangedHostKeyDialog(error)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        for field, expected in ((dialog.old, old), (dialog.new, new)):
            assert field.text() == expected  # the whole fingerprint, with its algorithm
            qtbot.waitUntil(lambda f=field: f.lines() * f.fontMetrics().lineSpacing()
                            <= f.viewport().height())  # fmt: skip
            assert not field.horizontalScrollBar().isVisible()
            assert field.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
            assert field.font().styleHint() == QFont.StyleHint.Monospace
        assert "ssh-ed25519" in [w.text() for w in dialog.findChildren(type(dialog.old))]
        if point_size == 15:  # too wide for one line: wrapped, and the field grew
            assert dialog.old.lines() >= 2
    finally:
        app.setFont(font)


def test_show_log_reads_the_log_with_its_tracebacks_together(
    qtbot: Any, loop: Any, tmp_path: Path
) -> None:
    log = tmp_path / "pmc.log"
    log.write_text(
        "2026-01-02 10:00:00,001 INFO    pmc.remote [MainThread] main: connected\n"
        "2026-01-02 10:00:01,002 ERROR   pmc.jobs [MainThread] job Verify lab failed\n"
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "RuntimeError: boom\n"
        "2026-01-02 10:00:02,003 WARNING paramiko.transport [T-1] Exception (client): x\n"
    )
    assert [level for level, _ in records(log.read_text())] == ["INFO", "ERROR", "WARNING"]
    tasks = __import__("ui.tasks", fromlist=["Tasks"]).Tasks()
    viewer = LogViewer(tasks, path=log)
    qtbot.addWidget(viewer)
    viewer.show()
    viewer.reload()
    qtbot.waitUntil(lambda: "connected" in viewer.text.toPlainText())
    viewer.level.setCurrentIndex(2)  # errors only: the record with its traceback
    assert viewer.text.toPlainText().splitlines()[-1] == "RuntimeError: boom"
    assert "connected" not in viewer.text.toPlainText()
    viewer.level.setCurrentIndex(0)
    qtbot.keyClicks(viewer.filter, "paramiko")
    assert viewer.text.toPlainText().count("\n") == 0 and "Exception (client)" in (
        viewer.text.toPlainText()
    )
    assert viewer.shown_count.text() == "1 of 3 records"
    tasks.shutdown()


def test_the_window_fits_the_screen_it_opens_on() -> None:
    assert fitting_size(QSize(1280, 680)) == QSize(1240, 620)  # 1280×720 less its panel
    assert fitting_size(QSize(1920, 1040)) == QSize(1280, 820)
    small = fitting_size(QSize(1024, 560))
    assert small.width() <= 1024 and small.height() <= 560


def test_servers_are_named_once_in_the_tree(qtbot: Any, loop: Any, pmc_dirs: Path) -> None:
    named = Inventory((Cluster("studio", Architecture.COMBINED, (
        Server("main", "127.168.1.105", "127.17.59.128", Role.MAIN),
        Server("studio-b", "127.168.1.108", "127.17.59.129", Role.BACKUP),
    )),))  # fmt: skip
    path = pmc_dirs / "inventory.toml"
    save_inventory(named, path)
    window = open_window(qtbot, path)
    top = window.tree.topLevelItem(0)
    assert [top.child(i).text(0) for i in range(2)] == ["main", "studio-b (backup)"]
    assert top.text(1) == ""  # a cluster has no address: its architecture is in the tooltip
    assert "Web redundancy and database replication" in top.toolTip(0)
    window.browser.search.setText("108")
    assert top.child(0).isHidden() and not top.child(1).isHidden()
    window.browser.search.setText("nothing like it")
    assert top.isHidden()
    window.browser.search.clear()
    assert not top.isHidden() and not top.child(0).isHidden()


def test_the_first_frame_is_painted_before_the_heavy_libraries_load() -> None:
    """ui.app (up to the first paint) loads neither SSH nor PostgreSQL nor the panels: those
    come with ui.window_start, after the frame is painted (bench/bench_startup.py)."""
    import subprocess
    import sys

    code = (
        "import sys, ui.app\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(("
        "'paramiko', 'psycopg', 'pmc.remote', 'pmc.sync', 'pmc.bundle', 'ui.main_window',"
        " 'ui.window_start', 'qasync')))))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, check=True)  # fmt: skip
    assert done.stdout.strip() == ""


def test_an_error_reads_as_sentences_and_copies_whole(qtbot: Any, loop: Any) -> None:
    from pmc.errors import PmcError
    from ui.error_dialog import show_error

    error = PmcError("no answer from 127.168.1.108:22 within 10 s", where="backup",
                     hint="Check that the server is on; a firewall may drop SSH")  # fmt: skip
    box = show_error(None, "connecting to backup", error)
    qtbot.addWidget(box)
    assert box.text() == "<b>Connecting to backup failed.</b>"
    said = box.informativeText()
    assert said == (
        "backup: no answer from 127.168.1.108:22 within 10 s. Check that the server is on; "
        "a firewall may drop SSH."
    )
    next(b for b in box.buttons() if b.objectName() == "copyError").click()
    assert QApplication.clipboard().text() == f"Connecting to backup failed.\n{said}"
    bug = show_error(None, "", ValueError("bad"))  # not PMC's own: the details, to report it
    qtbot.addWidget(bug)
    copy = next(b for b in bug.buttons() if b.objectName() == "copyError")
    assert copy.text() == "Copy details" and "ValueError: bad" in bug.detailedText()
