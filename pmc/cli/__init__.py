"""The ``pmc`` command line: one command (or a few) per module of :mod:`pmc.cli`.

:data:`COMMANDS` names each command with its one-line help and the function that loads its
module and fills in its parser. Only the module of the command given is imported, so that
``pmc --version`` and ``pmc --help`` stay fast; what every command shares (exit codes, jobs,
the workspace, confirmations) is :mod:`pmc.cli.common`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pmc import __version__

GuiLauncher = Callable[[list[str]], int]
Register = Callable[[argparse.ArgumentParser], None]


# Each loader imports its module when its command runs (the lazy start-up imports that
# tests/test_import_graph.py allows by name).
def _inventory(parser: argparse.ArgumentParser) -> None:
    from pmc.cli import inventory  # noqa: PLC0415

    inventory.register(parser)


def _lab(parser: argparse.ArgumentParser) -> None:
    from pmc.cli import lab  # noqa: PLC0415

    lab.register(parser)


def _setup(parser: argparse.ArgumentParser) -> None:
    from pmc.cli import setup  # noqa: PLC0415

    setup.register(parser)


def _export(parser: argparse.ArgumentParser) -> None:
    from pmc.cli import bundle  # noqa: PLC0415

    bundle.register_export(parser)


def _import(parser: argparse.ArgumentParser) -> None:
    from pmc.cli import bundle  # noqa: PLC0415

    bundle.register_import(parser)


def _bundle(parser: argparse.ArgumentParser) -> None:
    from pmc.cli import bundle  # noqa: PLC0415

    bundle.register_tools(parser)


def _sync(parser: argparse.ArgumentParser) -> None:
    from pmc.cli import sync  # noqa: PLC0415

    sync.register(parser)


@dataclass(frozen=True)
class Command:
    help: str
    register: Register


COMMANDS: dict[str, Command] = {
    "inventory": Command("clusters and servers PMC manages", _inventory),
    "lab": Command("the rehearsal lab: simulated Playout servers", _lab),
    "setup": Command("plan, apply and verify redundancy of a cluster", _setup),
    "export": Command("export a server's configuration into a bundle file", _export),
    "import": Command("import a bundle file into a server", _import),
    "bundle": Command("configuration bundle tools", _bundle),
    "sync": Command("keep a cluster's backup in sync with its main", _sync),
}


def command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names (its first word that is not a global option), if any."""
    words = iter(argv)
    for word in words:
        if word == "--inventory":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser, with the options of the command ``argv`` names (the others only listed)."""
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
    sub.add_parser("gui", help="open the desktop app")
    chosen = command_of(argv)
    for name, command in COMMANDS.items():
        command_parser = sub.add_parser(name, help=command.help)
        if name == chosen:
            command.register(command_parser)
    return parser


def main(argv: Sequence[str] | None = None, *, gui: GuiLauncher | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)  # --version and --help end here
    from pmc.cli import common  # noqa: PLC0415 - loaded once past the fast paths

    return common.run_command(parser, args, gui)
