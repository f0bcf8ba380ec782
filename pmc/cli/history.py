"""``pmc history set-aside``: keep a damaged history file under another name, start anew.

PMC never deletes or replaces its history file by itself: when SQLite finds it damaged, every
command says so and stops (exit 1). This command, on the operator's word, renames it (with its
``-wal`` and ``-shm`` files) to ``pmc.sqlite3.damaged-TIME`` beside it; the next command
starts a new history.
"""

from __future__ import annotations

import argparse

from pmc.cli.common import ExitCode
from pmc.store import set_aside


def register(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    aside = actions.add_parser(
        "set-aside",
        help="keep the history file under a new name (with the time) and start a new one",
    )
    aside.set_defaults(handler=_set_aside)


def _set_aside(args: argparse.Namespace) -> int:
    kept = set_aside()
    print(f"The history file was kept as {kept}; PMC starts a new one.")
    return ExitCode.OK
