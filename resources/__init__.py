"""PMC's resources: SVG icons, the application icon, the style sheet and the desktop entry.
A package so that the wheel can install it as ``pmc_ui.resources``; the desktop app finds it
through :mod:`ui.resource_files`."""
