"""``pmc cluster switchover --cluster NAME --to SERVER [--yes]``: make another server the
cluster's active one (the day main fails, and the day it is back).

Prints the plan (:mod:`pmc.switchover`: the inventory's active server, the servers' files
where the architecture needs it, the direction of syncs, the servers that cannot be reached),
asks before changing anything (unless ``--yes``), then applies it as a job under the cluster
lock. Exit codes: 0 done, 1 failed (rolled back), 2 bad input or not confirmed (nothing was
changed), 130 cancelled.
"""

from __future__ import annotations

import argparse

from pmc.cli.common import ExitCode, confirmed, run, start_and_follow, workspace_of
from pmc.cli.connect import add_connection_options
from pmc.switchover import SwitchoverPlan, SwitchoverResult, plan_switchover, switchover_job


def register(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="cluster_command", metavar="ACTION", required=True)
    switch = actions.add_parser(
        "switchover",
        help="make another server the active one (syncs then copy from it)",
        description="Shows what changes where, asks, then switches the cluster over. A server"
        " that cannot be reached (main has failed) is left as it is.",
    )
    switch.add_argument("--cluster", required=True, metavar="NAME")
    switch.add_argument("--to", required=True, metavar="SERVER", help="the new active server")
    switch.add_argument("--yes", action="store_true", help="do not ask before changing")
    add_connection_options(switch)
    switch.set_defaults(handler=_switchover)


def _switchover(args: argparse.Namespace) -> int:
    workspace = workspace_of(args)
    cluster = workspace.cluster(args.cluster)

    async def work() -> SwitchoverResult | str:
        plan: SwitchoverPlan = await plan_switchover(
            cluster, args.to, workspace.connections(cluster)
        )
        print("\n".join(plan.lines()), flush=True)
        question = f"Switch {cluster.name} over to {args.to}? [y/N] "
        if not await confirmed(question, yes=args.yes, refusal="a switchover needs a confirmation"):
            return "Nothing was changed."
        return await start_and_follow(lambda: switchover_job(workspace, plan))

    print(run(workspace, work()))
    return ExitCode.OK
