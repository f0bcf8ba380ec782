"""The Import… dialog's preview: what the import would change on the target server — tables
(rows now and after), services and networks, files, and the config files' diffs — one tab
each."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabWidget, QTreeWidget, QTreeWidgetItem

from pmc.bundle.preview import Preview
from pmc.words import printable

from .translation import count, tr
from .wizard.diff_view import DiffView


def _tree(*headers: str, name: str, accessible: str) -> QTreeWidget:
    tree = QTreeWidget()
    tree.setObjectName(name)
    tree.setHeaderLabels([tr(header) for header in headers])
    tree.setAccessibleName(tr(accessible))
    tree.setRootIsDecorated(False)
    tree.setUniformRowHeights(True)
    tree.header().setStretchLastSection(True)  # sized to content, the last one takes the rest
    return tree


class ImportPreview(QTabWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("previewTabs")
        self.tables = _tree(
            "Table",
            "Rows now",
            "Rows after",
            "Change",
            name="previewTables",
            accessible="Tables: rows now and after the import",
        )
        self.rows = _tree(
            "Table",
            "Change",
            "Row",
            name="previewRows",
            accessible="Services and networks the import changes",
        )
        self.files = _tree("Folder", "Change", "File", name="previewFiles",
                           accessible="Files the import changes")  # fmt: skip
        self.config = DiffView()
        self.config.setObjectName("previewConfig")
        self.config.setAccessibleName(tr("Config files the import changes"))
        self.addTab(self.tables, tr("Tables"))
        self.addTab(self.rows, tr("Services && networks"))
        self.addTab(self.files, tr("Files"))
        self.addTab(self.config, tr("Config files"))

    def clear_preview(self) -> None:
        for tree in (self.tables, self.rows, self.files):
            tree.clear()
        self.config.clear()

    def show_preview(self, preview: Preview) -> list[str]:
        """Fill the tabs with ``preview``; what it counts, a phrase each."""
        for name, (ours, theirs) in preview.tables.items():
            change = tr("no change") if ours == theirs else f"{ours - theirs:+d}"
            item = QTreeWidgetItem([name, str(theirs), str(ours), change])
            for col in (1, 2):  # counts; the change beside them, read as words
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight)
            self.tables.addTopLevelItem(item)
        for tree, found in ((self.rows, preview.rows), (self.files, preview.files)):
            for changes in found:
                for verb, items in changes.by_verb():
                    for what in items:
                        shown = printable(what)  # the bundle's name, as the CLI shows it
                        tree.addTopLevelItem(QTreeWidgetItem([changes.name, tr(verb), shown]))
        if not self.rows.topLevelItemCount():
            self.rows.addTopLevelItem(QTreeWidgetItem(["", tr("no change"), ""]))
        for tree in (self.tables, self.rows, self.files):
            for col in range(tree.columnCount() - 1):  # the last one takes the rest
                tree.resizeColumnToContents(col)
                tree.setColumnWidth(col, tree.columnWidth(col) + 16)
        text = []
        for name, action in preview.config_actions.items():
            text.append(f"# {name}: {action}")
            if preview.config_diffs.get(name):
                text.append(preview.config_diffs[name].rstrip("\n"))
            elif name in preview.config_diffs:
                text.append("  (no change)")
        self.config.setPlainText("\n".join(text))
        rows = sum(len(d.added) + len(d.changed) + len(d.removed) for d in preview.rows)
        return [
            count(len(preview.tables), "table"),
            tr("services and networks changed: {rows}").format(rows=rows),
            tr("files added: {added}, changed: {changed}, removed: {removed}").format(
                added=sum(len(d.added) for d in preview.files),
                changed=sum(len(d.changed) for d in preview.files),
                removed=sum(len(d.removed) for d in preview.files),
            ),
        ]
