"""Planner and checks: the Admin/Player cluster of the manual's diagram.

Nothing is written for this architecture: the manual describes which connections it needs,
not file edits. The plan says so per server; :mod:`pmc.setup.verify` probes every connection
(admin → player: HTTP 80; TCP 22, 2001, 5555; UDP 161, 162) and reports what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmc.inventory import Role, Server
from pmc.setup.planning import PlanBuilder, PlanRefused


@dataclass(frozen=True)
class Link:
    source: str
    target: str
    address: str
    port: int
    protocol: str  # "tcp" or "udp"
    purpose: str


def links(builder_cluster_servers: tuple[Server, ...]) -> tuple[Link, ...]:
    admins = [s for s in builder_cluster_servers if s.role in (Role.ADMIN, Role.MAIN)]
    players = [s for s in builder_cluster_servers if s not in admins]
    out: list[Link] = []
    for admin in admins:
        for player in players:
            layout = player.layout
            for port, protocol, purpose in (
                (layout.http_port, "tcp", "HTTP (web)"),
                (layout.ssh_port, "tcp", "SSH"),
                (layout.scheduler_port, "tcp", "playout-scheduler"),
                (layout.admin_port, "tcp", "playout-admin"),
                (layout.snmp_port, "udp", "SNMP"),
                (layout.snmp_trap_port, "udp", "SNMP traps"),
            ):
                out.append(
                    Link(
                        admin.name,
                        player.name,
                        player.management_address,
                        port,
                        protocol,
                        purpose,
                    )
                )
    return tuple(out)


def plan_admin_player(builder: PlanBuilder) -> None:
    found = links(builder.cluster.servers)
    if not found:
        raise PlanRefused(
            f"cluster {builder.cluster.name} has no admin → player pair",
            hint="Give one server the role admin (or main) and the others the role player.",
        )
    for server in builder.cluster.servers:
        builder.no_change(
            server,
            "files",
            "an Admin/Player cluster needs connectivity, not file edits; pmc setup verify"
            " checks every connection of the manual's diagram",
        )
