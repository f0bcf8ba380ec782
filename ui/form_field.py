"""A form row's inline error: a red message under the field and a red frame around it."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget


class FieldError(QLabel):
    def __init__(self, field: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.setProperty("role", "field-error")
        self.setWordWrap(True)
        self.setVisible(False)

    def show_error(self, message: str | None) -> None:
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
