"""Live cluster status, as probed: what each probe answered (:class:`Check`), per server
(:class:`ServerStatus`) and per link of the cluster diagram (:class:`Link`, :func:`links_of`).

The probes themselves are :mod:`pmc.probes` (run on the servers through a
:class:`CommandRunner`); their commands :mod:`pmc.port_probes`; the drift column's reports
:mod:`pmc.drift_cache`. What the answers *mean* for the operator — ok, warning, failed, the
cell text and the cause — is :mod:`pmc.health`'s judgement, which every view reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from pmc.copy_config_log import CopyConfigRuns
from pmc.inventory import Cluster, Role, Server

if TYPE_CHECKING:  # the lock's module brings SSH: the status model stays light
    from pmc.cluster_lock import Holder


class Health(StrEnum):
    """A probe's raw answer (the operator reads :class:`pmc.health.State` instead)."""

    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CommandOutcome:
    exit_status: int
    stdout: str
    stderr: str = ""


class CommandRunner(Protocol):
    """Runs a shell command on ``server`` (as root or through sudo) and returns its outcome.

    Raises :class:`~pmc.errors.PmcError` when the server cannot be reached at all.
    """

    async def run(self, server: Server, command: str, *, timeout: float) -> CommandOutcome: ...


@dataclass(frozen=True)
class Check:
    """One probe's answer: ``summary`` in a few words, ``error`` why it is not up, ``checked``
    when (seconds since the epoch), ``closed_on`` where a closed port is."""

    health: Health
    summary: str
    checked: float | None = None
    error: str | None = None
    closed_on: str | None = None  # the server(s) whose firewall closed the ports (a link)


NOT_CHECKED = Check(Health.UNKNOWN, "not checked yet")
NOT_COMPARED = Check(Health.UNKNOWN, "not compared", error="Synchronize compares configurations")


class LinkKind(StrEnum):
    MANAGEMENT = "management"  # eth3: the operator's desktop to the server (SSH)
    REDUNDANCY = "redundancy"  # eth2: main to backup, used by copy config (Slony)
    HTTP = "http"  # the manual's diagram, green: HTTP 80
    TCP = "tcp"  # the manual's diagram, orange: TCP 22, 2001, 5555
    UDP = "udp"  # the manual's diagram, black: UDP 161, 162 (SNMP)

    @property
    def label(self) -> str:
        return _LINK_TITLES[self]


_LINK_TITLES = {
    LinkKind.MANAGEMENT: "Management network (eth3)",
    LinkKind.REDUNDANCY: "Redundancy link (eth2)",
    LinkKind.HTTP: "HTTP 80",
    LinkKind.TCP: "TCP 22, 2001, 5555",
    LinkKind.UDP: "UDP 161, 162",
}


@dataclass(frozen=True)
class Link:
    """A connection of the cluster diagram, probed from ``source`` towards ``target``.

    ``source`` is None for the management network (the operator's desktop).
    """

    kind: LinkKind
    source: str | None
    target: str
    address: str
    ports: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.source or 'operator'}:{self.target}"

    @property
    def title(self) -> str:
        ends = f"{self.source or 'operator'} → {self.target}"
        return f"{self.kind.label}: {ends} ({self.address})"


@dataclass(frozen=True)
class ReplicationFacts:
    """What a server says about copy config: its replication status row (``running`` or
    ``stopped``, the stop time, the peer) and its copy config log (:mod:`pmc.copy_config_log`)."""

    status: str
    stop_time: str = ""
    peer: str = ""
    runs: CopyConfigRuns = field(default_factory=CopyConfigRuns)


@dataclass(frozen=True)
class ServerStatus:
    server: str
    reachable: Check = NOT_CHECKED
    api: Check = NOT_CHECKED
    postgres: Check = NOT_CHECKED  # this server's PostgreSQL as its peer sees it over eth2
    replication: Check = NOT_CHECKED
    last_sync: Check = NOT_CHECKED
    drift: Check = NOT_COMPARED
    replication_facts: ReplicationFacts | None = None  # None: not read (unreachable…)
    locked_by: Holder | None = None  # the PMC job that holds the cluster lock on this server


@dataclass(frozen=True)
class ClusterLockState:
    """Who holds a cluster (:mod:`pmc.cluster_lock`), as the status view says it."""

    holder: Holder
    servers: tuple[str, ...]

    def __str__(self) -> str:
        return f"in use: {self.holder} (on {', '.join(self.servers)})"


@dataclass(frozen=True)
class ClusterStatus:
    cluster: str
    servers: dict[str, ServerStatus]
    links: dict[str, Check]
    checked: float

    @property
    def lock(self) -> ClusterLockState | None:
        """Who holds the cluster, if a PMC job does (read from its servers' lock files)."""
        held = [(s.locked_by, name) for name, s in self.servers.items() if s.locked_by]
        if not held:
            return None
        holder = held[0][0]
        assert holder is not None
        return ClusterLockState(holder, tuple(name for h, name in held if h == holder))


DriftProbe = Callable[[Cluster, Server], Awaitable[Check]]


# links -------------------------------------------------------------------------------------
def hub_of(cluster: Cluster) -> Server | None:
    """The server the diagram's port links start from: the admin, else the main."""
    admins = cluster.by_role(Role.ADMIN)
    if admins:
        return admins[0]
    return cluster.main or (cluster.servers[0] if cluster.servers else None)


def links_of(cluster: Cluster) -> list[Link]:
    """Every link of ``cluster``'s diagram, in drawing order."""
    links = [
        Link(LinkKind.MANAGEMENT, None, s.name, s.management_address, (s.ssh_port,))
        for s in cluster.servers
    ]
    main, backup = cluster.main, cluster.backup
    if main and backup and main.redundancy_address and backup.redundancy_address:
        links.append(
            Link(LinkKind.REDUNDANCY, main.name, backup.name, backup.redundancy_address, (22,))
        )
    hub = hub_of(cluster)
    if hub is not None:
        for peer in cluster.servers:
            if peer.name == hub.name:
                continue
            lay = peer.layout
            address = peer.management_address
            links += [
                Link(LinkKind.HTTP, hub.name, peer.name, address, (lay.http_port,)),
                Link(
                    LinkKind.TCP,
                    hub.name,
                    peer.name,
                    address,
                    (lay.ssh_port, lay.scheduler_port, lay.admin_port),
                ),
                Link(
                    LinkKind.UDP, hub.name, peer.name, address, (lay.snmp_port, lay.snmp_trap_port)
                ),
            ]
    return links


def peer_of(cluster: Cluster, server: Server) -> Server | None:
    """The other end of ``server``'s eth2 link (main ↔ backup), if the cluster has one."""
    main, backup = cluster.main, cluster.backup
    if main and backup:
        if server.name == main.name:
            return backup
        if server.name == backup.name:
            return main
    return None


def empty_status(cluster: Cluster) -> ClusterStatus:
    """Every server and link of ``cluster`` as not checked yet."""
    return ClusterStatus(
        cluster=cluster.name,
        servers={s.name: ServerStatus(s.name) for s in cluster.servers},
        links={link.key: NOT_CHECKED for link in links_of(cluster)},
        checked=0.0,
    )
