"""PMC's resources: SVG icons, the application icon, the style sheet and the desktop entry."""

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent
ICONS_DIR = RESOURCES_DIR / "icons"
APP_ICON = RESOURCES_DIR / "pmc.svg"
STYLE_SHEET = RESOURCES_DIR / "pmc.qss"
