"""Where the desktop app's own files are: icons, the application icon, the style sheet and the
desktop entry (the repository's ``resources/`` folder). Installed from the wheel they are the
package ``pmc_ui.resources``, inside this one (pyproject's package-dir: no top-level name
another distribution could own); in the repository and in the frozen build they sit beside
it."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
RESOURCES_DIR = next(
    folder for folder in (_HERE / "resources", _HERE.parent / "resources") if folder.is_dir()
)
ICONS_DIR = RESOURCES_DIR / "icons"
APP_ICON = RESOURCES_DIR / "pmc.svg"
STYLE_SHEET = RESOURCES_DIR / "pmc.qss"
