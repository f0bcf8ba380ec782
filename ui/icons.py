"""Icons from ``resources/``: one place that turns a name into a QIcon.

The SVGs are drawn in a slate grey (#5f7387) with a blue accent (#2b7bd6). Rendered as they
are, the grey is dim on a dark palette and the accent vanishes on a selected row (blue on the
blue highlight). So each icon is rendered per palette: the grey becomes the palette's text
colour (softened) on a dark palette, and in the *Selected* mode (a selected tree row or
table cell) every stroke takes the highlighted-text colour. :func:`icon` is cached per
palette; :func:`forget_icons` drops the cache when the palette changes.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from .resource_files import APP_ICON, ICONS_DIR

GREY = "#5f7387"
ACCENT = "#2b7bd6"
DARK_GREY = "#c9d4df"  # the grey on a dark palette: readable on #2b2f33 and #1f2326
DARK_ACCENT = "#9ccbff"
SIZES = (16, 20, 24, 32, 48, 64)


def is_dark_palette(palette: QPalette | None = None) -> bool:
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def _render(svg: str, size: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return pixmap


def _recolour(svg: str, mapping: dict[str, str]) -> str:
    for old, new in mapping.items():
        svg = svg.replace(f'"{old}"', f'"{new}"')
    return svg


@cache
def _icon(name: str, dark: bool, selected_colour: str, disabled_colour: str) -> QIcon:
    path = ICONS_DIR / f"{name}.svg"
    if not path.exists():
        return QIcon()
    svg = path.read_text(encoding="utf-8")
    normal = _recolour(svg, {GREY: DARK_GREY, ACCENT: DARK_ACCENT}) if dark else svg
    selected = _recolour(svg, {GREY: selected_colour, ACCENT: selected_colour})
    disabled = _recolour(svg, {GREY: disabled_colour, ACCENT: disabled_colour})
    result = QIcon()
    for size in SIZES:
        result.addPixmap(_render(normal, size), QIcon.Mode.Normal)
        result.addPixmap(_render(normal, size), QIcon.Mode.Active)
        result.addPixmap(_render(selected, size), QIcon.Mode.Selected)
        result.addPixmap(_render(disabled, size), QIcon.Mode.Disabled)
    return result


def icon(name: str) -> QIcon:
    """The SVG icon ``resources/icons/NAME.svg`` for the current palette (an empty icon if it
    does not exist)."""
    palette = QGuiApplication.palette()
    selected = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.HighlightedText)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    if disabled == palette.color(QPalette.ColorRole.WindowText):
        disabled = QColor("#9aa3ab")
    return _icon(name, is_dark_palette(palette), selected.name(), disabled.name())


def forget_icons() -> None:
    """Drop rendered icons (after a palette change; widgets set their icons again)."""
    _icon.cache_clear()


@cache
def app_icon() -> QIcon:
    return QIcon(str(APP_ICON))
