"""``pmc history --cluster NAME [--json] [--limit N] [--brief]``: what PMC did to a cluster's
servers, from this desktop and every other (:mod:`pmc.history`: this desktop's job history
merged with each server's audit log). A server whose log cannot be read is named on stderr.

``pmc history set-aside``: keep a damaged history file under another name, start anew. PMC
never deletes or replaces its history file by itself: when SQLite finds it damaged, every
command says so and stops (exit 1). This command, on the operator's word, renames it (with its
``-wal`` and ``-shm`` files) to ``pmc.sqlite3.damaged-TIME`` beside it; the next command
starts a new history.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from pmc.cli.common import ExitCode, run, workspace_of
from pmc.cli.connect import add_connection_options
from pmc.errors import InputError
from pmc.history import ClusterHistory, cluster_history, table
from pmc.store import set_aside


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", metavar="NAME", help="the cluster whose history to show")
    parser.add_argument("--limit", type=int, default=50, help="entries shown (newest first)")
    parser.add_argument("--json", action="store_true", help="JSON for scripts")
    parser.add_argument("--brief", action="store_true", help="one line per job, no changes")
    add_connection_options(parser)
    parser.set_defaults(handler=_show)
    actions = parser.add_subparsers(dest="history_command", metavar="ACTION")
    aside = actions.add_parser(
        "set-aside",
        help="keep the history file under a new name (with the time) and start a new one",
    )
    aside.set_defaults(handler=_set_aside)


def _show(args: argparse.Namespace) -> int:
    if not args.cluster:
        raise InputError(
            "give --cluster NAME: the cluster whose history to show",
            hint="Or `pmc history set-aside` to keep a damaged history file aside.",
        )
    workspace = workspace_of(args)
    workspace.load()
    workspace.cluster(args.cluster)
    history: ClusterHistory = run(workspace, cluster_history(workspace, args.cluster,
                                                             limit=args.limit))  # fmt: skip
    for server, why in history.unread:
        print(f"pmc: the audit log of {server} could not be read: {why}", file=sys.stderr)
    if args.json:
        data = {
            "cluster": history.cluster,
            "entries": [e.as_json() for e in history.entries],
            "unread": [{"server": s, "why": w} for s, w in history.unread],
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return ExitCode.OK
    if not history.entries:
        print(f"No changes recorded for cluster {history.cluster}.", file=sys.stderr)
        return ExitCode.OK
    width = os.get_terminal_size().columns if sys.stdout.isatty() else 200
    print("\n".join(table(history, width=max(width, 80), details=not args.brief)))
    return ExitCode.OK


def _set_aside(args: argparse.Namespace) -> int:
    kept = set_aside()
    print(f"The history file was kept as {kept}; PMC starts a new one.")
    return ExitCode.OK
