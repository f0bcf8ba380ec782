"""Errors shown to the operator: a PmcError is its sentence; anything else also gets the
details behind a button, with a copy button, never a silent failure."""

from __future__ import annotations

import traceback

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from pmc.errors import PmcError

from .translation import tr


def show_error(parent: QWidget | None, what: str, error: BaseException) -> QMessageBox:
    box = QMessageBox(parent)
    box.setObjectName("errorDialog")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(tr("PMC"))
    doing = f"{what[0].upper()}{what[1:]} failed" if what else "Something failed"
    if isinstance(error, PmcError):
        box.setText(f"<b>{doing}.</b>")
        box.setInformativeText(str(error))
    else:
        box.setText(tr("<b>{doing} unexpectedly.</b>").format(doing=doing))
        box.setInformativeText(
            f"{type(error).__name__}: {error}\nPlease report this with the details below."
        )
        details = "".join(traceback.format_exception(error))
        box.setDetailedText(details)
        copy = box.addButton(tr("Copy details"), QMessageBox.ButtonRole.ActionRole)
        copy.clicked.disconnect()
        copy.clicked.connect(lambda: QApplication.clipboard().setText(details))
    box.addButton(QMessageBox.StandardButton.Close)
    box.open()
    return box
