"""Wrapped cells in a tree: a tree's rows are one line high by default, so a sentence in a
column (a plan step's reason) was cut with "…". :class:`WrappingDelegate` makes each row as
tall as its wrapped text at the column's width, and lays the rows out again when a column is
resized."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QTreeView

PADDING = 6


class WrappingDelegate(QStyledItemDelegate):
    def __init__(self, view: QTreeView, columns: tuple[int, ...]) -> None:
        super().__init__(view)
        self.view = view
        self.columns = columns
        view.setWordWrap(True)
        view.setUniformRowHeights(False)
        for column in columns:
            view.setItemDelegateForColumn(column, self)
        view.header().sectionResized.connect(lambda *_: view.scheduleDelayedItemsLayout())

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        hint = super().sizeHint(option, index)
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        width = self.view.columnWidth(index.column()) - PADDING
        if not text or width <= 0:
            return hint
        box = option.fontMetrics.boundingRect(
            QRect(0, 0, width, 100000), int(Qt.TextFlag.TextWordWrap), text
        )
        return QSize(hint.width(), max(hint.height(), box.height() + PADDING))
