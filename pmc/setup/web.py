"""Planner: Playout Web Redundancy (spoolers.json and replicate.conf), one way or symmetric.

One way (the manual's first part): the main's spoolers.json lists itself as ``master`` and
every other server as ``spooler``, its replicate.conf lists itself first. Symmetric (the
manual's second part): every server does the same with itself as master, so editing on either
reaches the other.

Addresses: spoolers.json gets the management (eth3) addresses — the API forwards changes over
the network the Web Console uses. replicate.conf feeds copy config, which runs over eth2, so it
gets the redundancy addresses when every server has one (the manual's copy-config chapter);
only without eth2 addresses does it get the management addresses (the manual's web chapter).
"""

from __future__ import annotations

from pmc.configs.spoolers import Spooler, Spoolers
from pmc.inventory import Server
from pmc.setup import facts as F
from pmc.setup.planning import PlanBuilder, PlanRefused, ensure_in_cluster
from pmc.setup.replicate_conf import plan_replicate_conf, strangers_note


def web_servers(builder: PlanBuilder) -> tuple[Server, ...]:
    """The cluster's servers, the active one (the main, until a switchover) first."""
    main = builder.cluster.active_server
    if main is None or len(builder.cluster.servers) < 2:
        raise PlanRefused(
            f"web redundancy in cluster {builder.cluster.name} needs a main server and at least"
            " one other server",
            hint="Set one server's role to main in the inventory.",
        )
    return (main, *(s for s in builder.cluster.servers if s is not main))


def plan_web(builder: PlanBuilder, *, symmetric: bool) -> None:
    """One way: the active server is the master (after a switchover, the backup: the
    manual's "redundancy from backup to main"), and a server that still forwards its
    changes to the others stops doing so."""
    servers = web_servers(builder)
    editing = servers if symmetric else servers[:1]
    for server in editing:
        others = [s for s in servers if s is not server]
        spoolers(builder, server, others, symmetric=symmetric)
        replicate_list(builder, server, others)
    if not symmetric:
        for server in servers[1:]:
            stop_forwarding(builder, server, servers[0])


def stop_forwarding(builder: PlanBuilder, server: Server, active: Server) -> None:
    """A server that is not the active one and lists other servers of the cluster in its
    spoolers.json (it was the master before a switchover) keeps only its own entry."""
    _, doc = builder.document(server, F.SPOOLERS)
    if not isinstance(doc, Spoolers):
        return
    own = [s for s in doc.servers if s.address == server.management_address]
    if len(doc.servers) == len(own):
        return  # it forwards nothing: left as it is, like any server one way leaves alone
    wanted = own[:1] or [Spooler(server.name, server.management_address, "master")]

    def edit(d: object) -> bool:
        assert isinstance(d, Spoolers)
        return d.set_servers(wanted)

    builder.wish(
        server,
        F.SPOOLERS,
        "spoolers.json servers",
        edit,
        reason=f"so that a change made in the Web Console on {server.name} no longer reaches"
        f" {active.name}, the active server (web redundancy one way, from {active.name}):"
        f" {server.name} lists only itself",
        already="it lists only itself",
    )


def replication_address(server: Server, everyone: list[Server]) -> str:
    if all(s.redundancy_address for s in everyone):
        assert server.redundancy_address
        return server.redundancy_address
    return server.management_address


def spoolers(
    builder: PlanBuilder, server: Server, others: list[Server], *, symmetric: bool
) -> None:
    wanted = [Spooler(server.name, server.management_address, "master")] + [
        Spooler(o.name, o.management_address, "spooler") for o in others
    ]
    ensure_in_cluster(
        builder.cluster, [s.address for s in wanted], where=f"{server.name}:spoolers.json"
    )
    _, doc = builder.document(server, F.SPOOLERS)
    extra = ""
    if isinstance(doc, Spoolers):
        extra = strangers_note(builder.cluster, [s.address for s in doc.servers])

    def edit(d: object) -> bool:
        assert isinstance(d, Spoolers)
        return d.set_servers(wanted)

    listed = ", ".join(f"{s.name} {s.address} {s.type}" for s in wanted)
    direction = (
        "either server reaches the other" if symmetric else f"{server.name} reaches the others"
    )
    builder.wish(
        server,
        F.SPOOLERS,
        "spoolers.json servers",
        edit,
        reason=f"so that a change made in the Web Console on {server.name} also updates"
        f" {', '.join(o.name for o in others)} ({direction}): {listed}{extra}",
        already=f"it already lists {listed}",
    )


def replicate_list(builder: PlanBuilder, server: Server, others: list[Server]) -> None:
    everyone = [server, *others]
    wanted = [replication_address(s, everyone) for s in everyone]
    network = "eth2" if all(s.redundancy_address for s in everyone) else "management"
    plan_replicate_conf(
        builder,
        server,
        wanted,
        reason=f"the Web Console's copy config reads this server's own {network} address"
        f" first, then its peers': {', '.join(wanted)}",
        already=f"it already lists {', '.join(wanted)}",
    )
