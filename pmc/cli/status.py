"""``pmc status [--json] [--cluster TEXT]``: every cluster at a glance, problems first.

One refresh of every cluster of the inventory, all at once (:func:`pmc.fleet.probe_fleet`);
the SNMP probes that only silence can answer are waited for here (a one-shot command has no
last answer to show). Exit status 0 when every cluster shown is OK or in sync, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json

from pmc.background_probes import BackgroundProbes
from pmc.cli.common import ExitCode, run, workspace_of
from pmc.cli.connect import add_connection_options
from pmc.errors import InputError
from pmc.fleet import (
    FleetProbe,
    FleetRow,
    Standing,
    fleet_rows,
    matching,
    probe_fleet,
    with_answers,
)
from pmc.inventory import Cluster, Inventory
from pmc.probe_batches import DEFAULT_IN_FLIGHT, Gate
from pmc.probes import PoolRunner
from pmc.workspace import Workspace

_FINE = (Standing.OK, Standing.IN_SYNC)


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument(
        "--cluster", default="", metavar="TEXT", help="only clusters whose name holds TEXT"
    )
    parser.add_argument(
        "--sessions",
        type=int,
        default=DEFAULT_IN_FLIGHT,
        metavar="N",
        help=f"SSH sessions in flight at once, over all servers (default {DEFAULT_IN_FLIGHT})",
    )
    add_connection_options(parser)
    parser.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    if not 1 <= args.sessions <= 256:
        raise InputError(f"--sessions {args.sessions} is out of range", hint="Give 1 to 256")
    workspace = workspace_of(args)
    inventory = workspace.load()
    clusters = [c for c in inventory.clusters if args.cluster.lower() in c.name.lower()]
    if not clusters:
        raise InputError(
            "no cluster to show"
            + (f": none of the inventory's names holds {args.cluster!r}" if args.cluster else ""),
            hint="See `pmc inventory list`",
        )
    rows = run(workspace, _rows(workspace, inventory, clusters, args.sessions))
    rows = matching(rows, args.cluster)
    if args.json:
        print(json.dumps({"clusters": [r.as_json() for r in rows]}, indent=2))
    else:
        for line in table(rows):
            print(line)
    return ExitCode.OK if all(r.standing in _FINE for r in rows) else ExitCode.FAILED


async def _rows(
    workspace: Workspace, inventory: Inventory, clusters: list[Cluster], sessions: int
) -> list[FleetRow]:
    background = BackgroundProbes()
    probe = FleetProbe(Gate(sessions), background)
    pool = workspace.pool
    try:
        statuses = await probe_fleet(clusters, lambda c: PoolRunner(pool, c.name), probe)
        await background.settle()  # a one-shot: no last answer to show, so SNMP's is waited for
    finally:
        background.close()
    statuses = {name: with_answers(s, background) for name, s in statuses.items()}
    return fleet_rows(inventory, statuses, workspace.store)


def table(rows: list[FleetRow]) -> list[str]:
    """CLUSTER, HEALTH, ACTIVE, LAST SYNC, RESULT, then the health model's line."""
    header = ("CLUSTER", "HEALTH", "ACTIVE", "LAST SYNC", "RESULT", "SUMMARY")
    cells = [
        (
            r.cluster,
            r.health,
            r.active or "-",
            r.last_sync.text,
            r.last_sync.result or "-",
            r.summary.removeprefix(f"{r.cluster}: "),
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in (header, *cells)) for i in range(len(header) - 1)]
    return [
        "  ".join([*(v.ljust(w) for v, w in zip(c[:-1], widths, strict=True)), c[-1]]).rstrip()
        for c in (header, *cells)
    ]
