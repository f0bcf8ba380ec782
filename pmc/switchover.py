"""Switch a cluster over to another server: the day main fails, and the day it is back.

A switchover is a plan like every other (:func:`plan_switchover`, read only), saying what
changes where:

- the inventory: which server is active (the cluster's ``active``; main and backup keep their
  roles, which name the machines, as the vendor's manual keeps calling them main and backup);
- the servers' files, where the architecture needs it: with web redundancy one way, the active
  server is the master (its spoolers.json lists itself as master, its replicate.conf lists it
  first, "so that copy config treats the backup as the primary server when running from
  there") and a server that still forwards its changes stops doing so. Web redundancy both
  ways and database replication list each server first on its own already: nothing changes
  on the servers;
- the direction of syncs: the schedule's syncs, and every sync not told otherwise, copy from
  the active server from then on.

A server that cannot be reached (main has failed) is left as it is and named in the plan; the
server to switch over to must be reachable. :func:`switchover_job` applies the plan as a job
under the cluster lock of the servers it reaches: the files through the setup executor
(backups, rollback on failure), then the inventory; every server reached records it in its
audit log. Switching back is a switchover to the other server.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from pmc import audit_trail
from pmc.cluster_lock import cluster_lock
from pmc.errors import InputError, PmcError
from pmc.inventory import Architecture, Cluster, Server
from pmc.jobs import Job, JobContext
from pmc.plan import Plan, render_text
from pmc.remote.connection import Connection
from pmc.setup.apply import apply_plan
from pmc.setup.facts import ServerFacts
from pmc.setup.observe import observe_server
from pmc.setup.planning import PlanBuilder
from pmc.setup.web import replicate_list, spoolers, stop_forwarding, web_servers
from pmc.workspace import Workspace

Connections = Mapping[str, Connection]

_SAME_EVERYWHERE = {
    Architecture.WEB_SYMMETRIC: "with web redundancy both ways every server is a master and"
    " lists itself first, so either can be the active one",
    Architecture.DATABASE: "each server's replicate.conf lists its own eth2 address first, so"
    " copy config runs from either",
    Architecture.COMBINED: "with web redundancy both ways and database replication every server"
    " is a master and lists itself first, so either can be the active one",
    Architecture.MANUAL: "export and import do not depend on which server is active",
}


class SwitchoverOutdated(PmcError):
    """The inventory or a server changed since the plan; nothing was changed."""


@dataclass(frozen=True)
class SwitchoverPlan:
    cluster: Cluster  # as it is now
    to: str
    servers: Plan  # the files to change on the servers reached (maybe none)
    unreachable: tuple[tuple[str, str], ...] = ()  # (server, why)

    @property
    def current(self) -> str:
        active = self.cluster.active_server
        return active.name if active is not None else ""

    @property
    def after(self) -> Cluster:
        """The cluster as the inventory holds it afterwards (the main: no ``active`` line)."""
        main = self.cluster.main
        active = None if main is not None and main.name == self.to else self.to
        return dataclasses.replace(self.cluster, active=active)

    @property
    def reached(self) -> tuple[str, ...]:
        left = {name for name, _ in self.unreachable}
        return tuple(s.name for s in self.cluster.servers if s.name not in left)

    def lines(self) -> list[str]:
        """The plan as the CLI prints it and the GUI shows it."""
        others = [s.name for s in self.cluster.servers if s.name != self.to]
        out = [
            f"Switch over cluster {self.cluster.name}: {self.to} becomes the active server"
            f" (now: {self.current}).",
            f"  inventory: active server {self.current} → {self.to} (main and backup keep"
            " their roles: they name the machines)",
        ]
        direction = f"from {self.to} to {', '.join(others)}"
        schedule = self.cluster.sync
        if schedule is not None and schedule.active:
            out.append(f"  scheduled syncs ({schedule.describe()}): {direction} from now on")
        out.append(f"  syncs not told otherwise copy {direction} from now on")
        out += ["  " + line for line in render_text(self.servers).splitlines()]
        for name, why in self.unreachable:
            out.append(
                f"  ! {name} cannot be reached ({why}): it is left as it is, and only the"
                f" servers reached record the switchover; once {name} is back,"
                f" `pmc setup plan --cluster {self.cluster.name}` shows what it needs"
            )
        return out


@dataclass(frozen=True)
class SwitchoverResult:
    cluster: str
    before: str
    after: str
    steps: int
    left: tuple[str, ...]

    def __str__(self) -> str:
        text = f"{self.after} is now the active server of {self.cluster} (was: {self.before})"
        if self.steps:
            text += f"; {self.steps} step{'s' * (self.steps != 1)} applied on the servers"
        if self.left:
            text += f"; not reached: {', '.join(self.left)}"
        return text


def _check(cluster: Cluster, to: str) -> Server:
    main, backup = cluster.main, cluster.backup
    if main is None or backup is None or cluster.architecture is Architecture.ADMIN_PLAYER:
        raise InputError(
            f"cluster {cluster.name!r} has no main and backup server; a switchover makes the"
            " backup the active server, or the main again",
            hint="Switchovers work on a cluster with one main and one backup server.",
        )
    if to not in (main.name, backup.name):
        raise InputError(
            f"{to!r} is not the main or the backup server of cluster {cluster.name!r}"
            f" ({main.name}, {backup.name})"
        )
    active = cluster.active_server
    if active is not None and active.name == to:
        raise InputError(
            f"{to} is already the active server of cluster {cluster.name}; nothing to do"
        )
    return cluster.server(to)


def server_plan(after: Cluster, facts: dict[str, ServerFacts]) -> Plan:
    """The files to change on the servers observed (``facts``) for ``after``'s active
    server (pure)."""
    builder = PlanBuilder(after, facts)
    servers = web_servers(builder)
    active = servers[0]
    if after.architecture is Architecture.WEB_ONE_WAY:
        if active.name in facts:
            spoolers(builder, active, list(servers[1:]), symmetric=False)
            replicate_list(builder, active, list(servers[1:]))
        for server in servers[1:]:
            if server.name in facts:
                stop_forwarding(builder, server, active)
    else:
        why = _SAME_EVERYWHERE[after.architecture]
        for server in servers:
            if server.name in facts:
                builder.no_change(server, "spoolers.json and replicate.conf", why)
    return builder.build(f"switchover to {active.name}")


async def plan_switchover(cluster: Cluster, to: str, conns: Connections) -> SwitchoverPlan:
    """What a switchover of ``cluster`` to the server ``to`` changes where (read only); see
    the module docs."""
    target = _check(cluster, to)

    async def observe(server: Server) -> ServerFacts | str:
        try:
            return await observe_server(server, conns[server.name])
        except PmcError as exc:
            return str(exc)

    observed = await asyncio.gather(*(observe(s) for s in cluster.servers))
    facts = {s.name: f for s, f in zip(cluster.servers, observed, strict=True)
             if isinstance(f, ServerFacts)}  # fmt: skip
    unreachable = tuple(
        (s.name, f) for s, f in zip(cluster.servers, observed, strict=True) if isinstance(f, str)
    )
    if target.name not in facts:
        raise PmcError(
            f"{target.name} cannot be reached ({dict(unreachable)[target.name]}); PMC switches"
            " over only to a server it can reach",
            hint=f"Check {target.name}'s network and SSH, then plan again; nothing was changed",
        )
    plan = SwitchoverPlan(cluster, to, Plan(cluster.name, ""), unreachable)
    return dataclasses.replace(plan, servers=server_plan(plan.after, facts))


def switchover_job(workspace: Workspace, plan: SwitchoverPlan) -> Job[SwitchoverResult]:
    """Apply ``plan`` (see the module docs) as a job of ``workspace``'s history."""
    name = plan.cluster.name

    async def body(ctx: JobContext) -> SwitchoverResult:
        conns = workspace.connections(plan.cluster)
        reached = [conns[n] for n in plan.reached]
        job = f"switch {name} over to {plan.to}"
        async with cluster_lock(reached, job=job, log=ctx.log):
            with ctx.step("check that the inventory did not change since the plan"):
                await asyncio.to_thread(workspace.load)
                if workspace.cluster(name) != plan.cluster:
                    raise SwitchoverOutdated(
                        f"cluster {name} changed in the inventory since the plan; nothing was"
                        " changed",
                        hint="Plan the switchover again, review it, and apply the new one",
                    )
                workspace.check(workspace.inventory.with_cluster(plan.after))
            if plan.servers.steps:
                kept = tuple(s for s in plan.cluster.servers if s.name in plan.reached)
                reachable = dataclasses.replace(plan.cluster, servers=kept)
                await apply_plan(plan.servers, reachable, conns, ctx, store=workspace.store)
            with ctx.step(f"inventory: {plan.to} becomes the active server"):
                await asyncio.to_thread(workspace.replace_cluster, plan.after)
            for server in plan.reached:
                audit_trail.note(server, "active", {"before": plan.current, "after": plan.to})
                audit_trail.summarize(server, f"{plan.to} is now the active server of {name}")
        return SwitchoverResult(
            name, plan.current, plan.to, len(plan.servers.steps),
            tuple(n for n, _ in plan.unreachable),
        )  # fmt: skip

    title = f"Switch {name} over to {plan.to}"
    return Job("switchover", title, body, cluster=name, store=workspace.store)
