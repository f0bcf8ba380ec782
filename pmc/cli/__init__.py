"""The ``pmc`` command line: one subcommand group per module, each with ``register()``.

Exit codes are the same everywhere: 0 done, 1 failed (and rolled back where that applies),
2 bad input (nothing was changed), 130 cancelled by the operator.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from pmc import __version__
from pmc.errors import Cancelled, InputError, PmcError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130

GuiLauncher = Callable[[list[str]], int]

Handler = Callable[[argparse.Namespace], int]


def _groups() -> list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]]:
    # Imported here so that `pmc --version` stays fast.
    from pmc.cli import inventory  # noqa: PLC0415

    groups: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
        inventory.register
    ]
    for optional in ("lab", "setup", "bundle", "sync"):
        try:
            module = __import__(f"pmc.cli.{optional}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != f"pmc.cli.{optional}":
                raise
            continue
        groups.append(module.register)
    return groups


def build_parser(gui: GuiLauncher | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmc",
        description="Playout Management Console. Without a command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"pmc {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details (also to stderr)")
    parser.add_argument(
        "--inventory",
        metavar="FILE",
        help="inventory file to use (default: the one in your user config folder)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui_parser = sub.add_parser("gui", help="open the desktop app")
    gui_parser.set_defaults(handler=lambda args: _run_gui(gui, args))
    for register in _groups():
        register(sub)
    return parser


def _run_gui(gui: GuiLauncher | None, args: argparse.Namespace) -> int:
    if gui is None:
        print("pmc: the desktop app is not available in this installation", file=sys.stderr)
        return EXIT_FAILED
    gui_args = list(getattr(args, "gui_args", []))
    if getattr(args, "inventory", None):
        gui_args += ["--inventory", args.inventory]
    if getattr(args, "verbose", False):
        gui_args.append("--verbose")  # the app logs to its file only (ui.app.start_logging)
    return gui(gui_args)


def _start_logging(verbose: bool) -> None:
    from pmc.log import configure_logging  # noqa: PLC0415 (keeps `pmc --version` fast)

    try:
        configure_logging(verbose)
    except OSError as exc:
        print(f"pmc: cannot write the log file ({exc}); continuing without it", file=sys.stderr)


def main(argv: Sequence[str] | None = None, *, gui: GuiLauncher | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(gui)
    args = parser.parse_args(args_list)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    _start_logging(bool(getattr(args, "verbose", False)))
    try:
        return handler(args)
    except Cancelled as exc:
        print(f"pmc: cancelled: {exc}", file=sys.stderr)
        return EXIT_CANCELLED
    except InputError as exc:
        print(f"pmc: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PmcError as exc:
        print(f"pmc: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("pmc: interrupted", file=sys.stderr)
        return EXIT_CANCELLED
