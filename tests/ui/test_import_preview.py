"""The import preview's tables: every count and change readable in full at the dialog's width
(no cell cut, no sideways scrolling), "no change" said rather than left blank."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QFontMetrics

from pmc.bundle.preview import Changes, Preview
from ui.import_preview import ImportPreview

pytestmark = pytest.mark.gui


def test_the_table_changes_read_whole(qtbot: Any) -> None:
    tables = {"eit_sources": (7, 7), "general_settings": (10, 9), "networks": (2, 4)}
    tables |= {f"playlist_items_{i}": (12, 12) for i in range(12)}  # the lab's 15 tables
    preview = Preview(scan=None, target="backup", tables=tables)  # type: ignore[arg-type]
    view = ImportPreview()
    qtbot.addWidget(view)
    view.resize(876, 300)
    view.show()
    qtbot.waitExposed(view)
    said = view.show_preview(preview)  # filled once shown, as the dialog does
    tree = view.tables
    assert said[0] == "15 tables"
    rows = {tree.topLevelItem(i).text(0): tree.topLevelItem(i) for i in range(15)}
    assert [rows[n].text(3) for n in list(tables)[:3]] == ["no change", "+1", "-2"]
    qtbot.waitUntil(lambda: not tree.horizontalScrollBar().isVisible())
    metrics = QFontMetrics(tree.font())
    for item in rows.values():
        for column in range(4):
            shown = tree.visualItemRect(item).intersected(tree.viewport().rect())
            assert metrics.horizontalAdvance(item.text(column)) < tree.columnWidth(column)
            assert shown.right() <= tree.viewport().width()


def test_the_bundles_names_are_shown_as_the_cli_shows_them(qtbot: Any) -> None:
    """Before, a file name that is not UTF-8 lost its byte in the tree (Qt drops the
    surrogate: two different files read alike) and a control character was kept raw."""
    files = [Changes("av", added=["x\udcff.ts", "y\x1b[2J.ts"])]
    preview = Preview(scan=None, target="backup", files=files)  # type: ignore[arg-type]
    view = ImportPreview()
    qtbot.addWidget(view)
    view.show_preview(preview)
    shown = [view.files.topLevelItem(i).text(2) for i in range(2)]
    assert shown == ["x\\xff.ts", "y\\x1b[2J.ts"]
