"""The failure screen of the setup wizard's apply, the import and the sync panel (and their
success line): a one-line banner — red only when a rollback could not restore the servers —
the cause, a collapsible list of what was rolled back, and a Copy button; every text
selectable. It renders a :class:`pmc.outcome.Outcome`."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from pmc.health_model import State
from pmc.outcome import Outcome

from .health_look import dot, state_colour
from .icons import icon
from .translation import count, tr
from .widgets import log_view


def _selectable(label: QLabel) -> QLabel:
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse
        | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    return label


class OutcomeView(QFrame):
    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.outcome: Outcome | None = None
        self.mark = QLabel()
        self.banner = _selectable(QLabel())
        self.banner.setObjectName(f"{name}Banner")
        font = self.banner.font()
        font.setBold(True)
        self.banner.setFont(font)
        self.cause = _selectable(QLabel())
        self.cause.setObjectName(f"{name}Cause")
        self.toggle = QToolButton()
        self.toggle.setObjectName(f"{name}Toggle")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.toggled.connect(self._toggled)
        self.details = log_view(f"{name}Details")
        self.details.setMaximumHeight(140)
        self.details.setVisible(False)
        self.copy_button = QPushButton(icon("copy"), tr("Copy"))
        self.copy_button.setObjectName(f"{name}Copy")
        self.copy_button.setToolTip(tr("Copy what happened to the clipboard"))
        self.copy_button.clicked.connect(self.copy)
        head = QHBoxLayout()
        head.addWidget(self.mark, 0, Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.banner, 1)
        head.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(head)
        layout.addWidget(self.cause)
        layout.addWidget(self.toggle)
        layout.addWidget(self.details)
        self.setVisible(False)

    def show_outcome(self, outcome: Outcome) -> None:
        self.outcome = outcome
        if outcome.ok:
            state = State.OK
        elif outcome.restored:
            state = State.WARNING
        else:
            state = State.FAILED
        self.mark.setPixmap(dot(state, 14))
        self.banner.setText(outcome.banner)
        # red only when the servers could not be restored; the cause stays the text colour
        colour = state_colour(State.FAILED).name() if state is State.FAILED else ""
        self.banner.setStyleSheet(f"color: {colour};" if colour else "")
        self.cause.setText(outcome.cause)
        self.cause.setVisible(bool(outcome.cause))
        lines = [*outcome.undone]
        if outcome.not_undone:
            lines += ["", tr("Could not roll back:"), *outcome.not_undone]
        self.details.setPlainText("\n".join(lines))
        self.toggle.setVisible(bool(lines))
        self.toggle.setText(
            tr("What was rolled back ({count})").format(count=count(len(outcome.undone), "step"))
        )
        self.toggle.setChecked(bool(outcome.not_undone))
        self._toggled(self.toggle.isChecked())
        self.setVisible(True)

    def _toggled(self, shown: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.details.setVisible(shown and self.toggle.isVisible())

    def text(self) -> str:
        return self.outcome.text() if self.outcome is not None else ""

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text())
