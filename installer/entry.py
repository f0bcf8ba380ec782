"""The frozen ``pmc`` executable: the same start as the ``pmc`` console script
(:func:`ui.launch.main`: the desktop app without arguments or with ``gui``, the command line
otherwise), plus one hidden diagnostic for the built folder.

``pmc --bundle-check`` prints, as JSON, what a support engineer or the CI smoke test needs to
know about an installed build: PMC's version, the keyring backend PMC uses and the one keyring
itself would pick (found by entry points, which a frozen build must ship as metadata), whether
the resources (icons, style sheet) are inside the bundle, and which Qt platform plugins it
carries. It exits 0 when PMC can keep secrets in the OS keyring, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BUNDLE_CHECK = "--bundle-check"


def bundle_check() -> int:
    import keyring

    import pmc
    from pmc import secrets
    from pmc.errors import PmcError
    from ui import resource_files as resources

    report: dict[str, object] = {
        "version": pmc.__version__,
        "frozen": bool(getattr(sys, "frozen", False)),
        "platform": sys.platform,
    }
    try:
        report["pmc_backend"] = secrets.backend_name()
    except PmcError as exc:
        report["pmc_backend"] = None
        report["pmc_backend_error"] = str(exc)
    chosen = keyring.get_keyring()
    report["keyring_backend"] = f"{type(chosen).__module__}.{type(chosen).__name__}"
    report["resources_dir"] = str(resources.RESOURCES_DIR)
    report["resources_ok"] = (
        resources.APP_ICON.is_file()
        and resources.STYLE_SHEET.is_file()
        and any(resources.ICONS_DIR.glob("*.svg"))
    )
    try:
        import PySide6

        plugins = Path(PySide6.__file__).resolve().parent / "Qt" / "plugins" / "platforms"
        found = sorted(p.name for p in plugins.iterdir()) if plugins.is_dir() else []
        report["qt_platforms"] = found
    except ImportError:
        report["qt_platforms"] = []
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0 if report["pmc_backend"] else 1


def main() -> int:
    if sys.argv[1:] == [BUNDLE_CHECK]:
        return bundle_check()
    from ui.launch import main as launch

    return launch()


if __name__ == "__main__":
    sys.exit(main())
