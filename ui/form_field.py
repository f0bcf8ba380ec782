"""A form row's inline error: a red message under the field and a red frame around it; and
the wrapped label both use, which asks its layout for the height its wrapped text needs (a
form otherwise gives a long message one line and cuts it)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QWidget


class WrappedLabel(QLabel):
    """A word-wrapped label whose minimum height follows its text at its width."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

    def setText(self, text: str) -> None:
        super().setText(text)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def sizeHint(self) -> QSize:
        """As tall as the text needs at the label's width (QLabel's own hint assumes a
        narrower label, too tall once laid out)."""
        hint = super().sizeHint()
        return QSize(hint.width(), self.minimumHeight() or hint.height())

    def heightForWidth(self, width: int) -> int:
        return self.needed_height(width)

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.minimumHeight())

    def needed_height(self, width: int) -> int:
        """The height the text takes wrapped at ``width`` (QLabel's own heightForWidth never
        goes below the minimum height, which this label keeps raising)."""
        if not self.text():
            return 0
        margins = self.contentsMargins()
        inner = max(50, width - margins.left() - margins.right() - 2 * self.margin())
        box = self.fontMetrics().boundingRect(
            QRect(0, 0, inner, 100000), int(Qt.TextFlag.TextWordWrap), self.text()
        )
        return box.height() + margins.top() + margins.bottom() + 2 * self.margin()

    def _fit(self) -> None:
        needed = self.needed_height(max(self.width(), 100))
        if needed != self.minimumHeight():
            self.setMinimumHeight(max(0, needed))


class FieldError(WrappedLabel):
    def __init__(self, field: QWidget, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.field = field
        self.setProperty("role", "field-error")
        self.setVisible(False)

    def show_error(self, message: str | None) -> None:
        """Show ``message`` (a sentence: its first letter capitalised, as the CLI's
        "FILE:LINE: message" form keeps it small) or hide it (None)."""
        message = f"{message[:1].upper()}{message[1:]}" if message else message
        self.setText(message or "")
        self.setVisible(bool(message))
        self.field.setProperty("invalid", bool(message))
        self.field.setToolTip(message or self.field.property("baseToolTip") or "")
        style = self.field.style()
        style.unpolish(self.field)
        style.polish(self.field)

    @property
    def message(self) -> str:
        return self.text()
