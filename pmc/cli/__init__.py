"""The ``pmc`` command line: one command (or a few) per module of :mod:`pmc.cli`.

:data:`COMMANDS` names each command with its one-line help; :func:`register` loads its module
and fills in its parser. Only the module of the command given is imported, so that
``pmc --version`` and ``pmc --help`` stay fast; what every command shares (exit codes, jobs,
the workspace, confirmations) is :mod:`pmc.cli.common`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from pmc import __version__

GuiLauncher = Callable[[list[str]], int]
Register = Callable[[argparse.ArgumentParser], None]


COMMANDS: dict[str, str] = {
    "inventory": "clusters and servers PMC manages",
    "lab": "the rehearsal lab: simulated Playout servers",
    "setup": "plan, apply and verify redundancy of a cluster",
    "export": "export a server's configuration into a bundle file",
    "import": "import a bundle file into a server",
    "bundle": "configuration bundle tools",
    "sync": "keep a cluster's servers in sync (from the active server)",
    "cluster": "switch a cluster over to another server",
    "history": "what PMC did to a cluster's servers, from every desktop",
    "hostkey": "the servers' trusted SSH host keys",
    "status": "every cluster at a glance, problems first",
}
"""Every command and its one-line help."""


def register(command: str, parser: argparse.ArgumentParser) -> None:
    """Fill in ``parser`` of ``command``, importing its module now (the lazy start-up
    imports that tests/test_import_graph.py allows by name)."""
    fill: Register
    match command:
        case "inventory":
            from pmc.cli.inventory import register as fill  # noqa: PLC0415
        case "lab":
            from pmc.cli.lab import register as fill  # noqa: PLC0415
        case "setup":
            from pmc.cli.setup import register as fill  # noqa: PLC0415
        case "export":
            from pmc.cli.bundle import register_export as fill  # noqa: PLC0415
        case "import":
            from pmc.cli.bundle import register_import as fill  # noqa: PLC0415
        case "bundle":
            from pmc.cli.bundle import register_tools as fill  # noqa: PLC0415
        case "sync":
            from pmc.cli.sync import register as fill  # noqa: PLC0415
        case "cluster":
            from pmc.cli.cluster import register as fill  # noqa: PLC0415
        case "history":
            from pmc.cli.history import register as fill  # noqa: PLC0415
        case "hostkey":
            from pmc.cli.hostkey import register as fill  # noqa: PLC0415
        case "status":
            from pmc.cli.status import register as fill  # noqa: PLC0415
        case _:
            raise ValueError(f"no command {command!r}")
    fill(parser)


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
    for name, text in COMMANDS.items():
        command_parser = sub.add_parser(name, help=text)
        if name == chosen:
            try:
                register(name, command_parser)
            except ModuleNotFoundError as exc:  # the frozen build leaves `pmc lab` out
                if not (exc.name or "").startswith("pmc.cli."):
                    raise
                parser.error(f"the command {name!r} is not part of this installation")
    return parser


def main(argv: Sequence[str] | None = None, *, gui: GuiLauncher | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)  # --version and --help end here
    from pmc.cli import common  # noqa: PLC0415 - loaded once past the fast paths

    return common.run_command(parser, args, gui)
