"""The ``pmc`` executable: no arguments (or ``gui``) opens the desktop app, anything else is
the command line of :mod:`pmc.cli`. Qt is imported only when the app opens."""

from __future__ import annotations

import sys

from pmc.cli import main as cli_main


def _open_app(argv: list[str]) -> int:
    from .app import run  # Qt is loaded here and only here

    return run(argv)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        return _open_app([])
    if args[0] == "gui":  # `pmc gui --inventory FILE`: the app parses its own options
        return _open_app(args[1:])
    return cli_main(args, gui=_open_app)


if __name__ == "__main__":
    sys.exit(main())
