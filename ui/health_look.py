"""How a :class:`pmc.health.State` looks, the same in every view: its colour (readable on the
light and the dark palette), a state badge on an icon (the cluster tree, the tray) and a
progress bar coloured by a job's outcome."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QProgressBar

from pmc.health_model import State

from .icons import app_icon, icon, is_dark_palette

GREEN = "#2e9e4f"
RED = "#d62d20"
AMBER = "#c77c02"
DARK_GREEN = "#4cc774"
DARK_RED = "#ff6b5e"
DARK_AMBER = "#f0a830"


def state_colour(state: State) -> QColor:
    """The colour of ``state`` on the current palette (unknown and n/a: the faded text)."""
    dark = is_dark_palette()
    if state is State.OK:
        return QColor(DARK_GREEN if dark else GREEN)
    if state is State.FAILED:
        return QColor(DARK_RED if dark else RED)
    if state is State.WARNING:
        return QColor(DARK_AMBER if dark else AMBER)
    return QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)


def badged(name: str, state: State | None) -> QIcon:
    """The icon ``name`` (PMC's own for "pmc") with a dot of ``state``'s colour at its lower
    right (no dot for None and unknown: nothing has been checked)."""
    base = app_icon() if name == "pmc" else icon(name)
    if state is None or state in (State.UNKNOWN, State.NOT_APPLICABLE):
        return base
    return _badged(name, state_colour(state).name(), is_dark_palette())


@cache
def _badged(name: str, colour: str, dark: bool) -> QIcon:
    base = app_icon() if name == "pmc" else icon(name)
    result = QIcon()
    for size in (16, 20, 24, 32, 48):
        pixmap = base.pixmap(size, size)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        radius = size * 0.22
        centre = QPointF(size - radius - 0.5, size - radius - 0.5)
        painter.setPen(QPen(QColor("#1f2326" if dark else "#ffffff"), max(1.0, size / 16)))
        painter.setBrush(QBrush(QColor(colour)))
        painter.drawEllipse(centre, radius, radius)
        painter.end()
        result.addPixmap(pixmap)
    return result


def forget_badges() -> None:
    _badged.cache_clear()


def colour_progress(bar: QProgressBar, state: State | None) -> None:
    """Colour ``bar``'s chunk by a job's outcome (None: the palette's own, while it runs)."""
    if state is None:
        bar.setStyleSheet("")
        return
    colour = state_colour(state).name()
    # a style sheet for the chunk alone makes Qt draw the whole bar from style sheets: the
    # frame, the groove and the centred text must then be said too
    bar.setStyleSheet(
        "QProgressBar { text-align: center; border: 1px solid palette(mid); border-radius: 3px;"
        " background: palette(base); }"
        f" QProgressBar::chunk {{ background-color: {colour}; border-radius: 2px; }}"
    )


def dot(state: State, size: int = 12) -> QPixmap:
    """A round swatch of ``state``'s colour (a legend, a banner)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(state_colour(state))
    painter.drawEllipse(QRectF(0.5, 0.5, size - 1, size - 1))
    painter.end()
    return pixmap
