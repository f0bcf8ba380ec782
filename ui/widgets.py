"""Small widgets the windows and dialogs build the same way: a named label that wraps, a
named read-only log pane (the style sheet's ``role="log"``), a progress bar that only says
work goes on, a named button with its icon, tooltip and action, two exclusive choices, a
prompt framed inside a panel (the sync panel's questions). The object names are what the
tests find widgets by."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from .icons import icon


def wrapped_label(name: str, text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(True)
    return label


def log_view(name: str, text: str = "") -> QPlainTextEdit:
    view = QPlainTextEdit(text)
    view.setObjectName(name)
    view.setReadOnly(True)
    view.setProperty("role", "log")
    return view


def busy_bar() -> QProgressBar:
    bar = QProgressBar()
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    return bar


def button(
    icon_name: str,
    text: str,
    *,
    name: str,
    tip: str,
    clicked: Callable[[], object] | SignalInstance,
) -> QPushButton:
    widget = QPushButton(icon(icon_name), text)
    widget.setObjectName(name)
    widget.setToolTip(tip)
    widget.clicked.connect(clicked)
    return widget


def two_choices(
    owner: QWidget, chosen: tuple[str, str], other: tuple[str, str]
) -> tuple[QRadioButton, QRadioButton]:
    """Two radio buttons, each ``(object name, text)``, of which one is checked: ``chosen``
    at first (the recommended one). ``owner`` keeps their button group."""
    group = QButtonGroup(owner)
    first, second = QRadioButton(chosen[1]), QRadioButton(other[1])
    for choice, name in ((first, chosen[0]), (second, other[0])):
        choice.setObjectName(name)
        group.addButton(choice)
    first.setChecked(True)
    return first, second


def row(first: QWidget, *rest: QWidget) -> QHBoxLayout:
    """A row of widgets; the first takes the room the others leave."""
    layout = QHBoxLayout()
    layout.addWidget(first, 1)
    for widget in rest:
        layout.addWidget(widget)
    return layout


class PanelPrompt(QFrame):
    """A question asked inside a panel, not in a modal dialog: the rest of the window keeps
    working while it waits."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setProperty("role", "prompt")

    def lay_out(self, *parts: QWidget | QLayout) -> None:
        """``parts`` one under the other."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        for part in parts:
            if isinstance(part, QLayout):
                layout.addLayout(part)
            else:
                layout.addWidget(part)
