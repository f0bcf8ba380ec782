"""Icons from ``resources/``: one place that turns a name into a QIcon."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from resources import APP_ICON, ICONS_DIR


@cache
def icon(name: str) -> QIcon:
    """The SVG icon ``resources/icons/NAME.svg`` (an empty icon if it does not exist)."""
    path = ICONS_DIR / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


@cache
def app_icon() -> QIcon:
    return QIcon(str(APP_ICON))
