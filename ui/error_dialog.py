"""Errors shown to the operator: a PmcError is its sentence; anything else also gets the
details behind a button; every error has a Copy button (the sentence, or the details), and
its text can be selected; never a silent failure."""

from __future__ import annotations

import traceback

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QGridLayout, QMessageBox, QSpacerItem, QWidget

from pmc.errors import PmcError

from .translation import tr

MIN_WIDTH = 480  # pixels: an error of three lines reads as three lines, not ten


def show_error(parent: QWidget | None, what: str, error: BaseException) -> QMessageBox:
    box = QMessageBox(parent)
    box.setObjectName("errorDialog")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(tr("PMC"))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    doing = (
        tr("{what} failed").format(what=f"{what[0].upper()}{what[1:]}")
        if what
        else tr("Something failed")
    )
    if isinstance(error, PmcError):
        said = str(error)
        said += "" if said.endswith((".", "!", "?")) else "."  # a hint ends without one
        box.setText(f"<b>{doing}.</b>")
        box.setInformativeText(said)
        copied = f"{doing}.\n{said}"
        label = tr("Copy")
    else:
        box.setText(tr("<b>{doing} unexpectedly.</b>").format(doing=doing))
        box.setInformativeText(
            tr("{kind}: {error}\nPlease report this with the details below.").format(
                kind=type(error).__name__, error=error
            )
        )
        copied = "".join(traceback.format_exception(error))
        box.setDetailedText(copied)
        label = tr("Copy details")
    copy = box.addButton(label, QMessageBox.ButtonRole.ActionRole)
    copy.setObjectName("copyError")
    copy.clicked.disconnect()  # copying does not close the box
    copy.clicked.connect(lambda: QApplication.clipboard().setText(copied))
    box.addButton(QMessageBox.StandardButton.Close)
    grid = box.layout()
    if isinstance(grid, QGridLayout):  # a message box sizes itself narrow: give the text room
        grid.addItem(QSpacerItem(MIN_WIDTH, 0), grid.rowCount(), 0, 1, grid.columnCount())
    box.open()
    return box
