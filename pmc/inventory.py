"""The operator's inventory: clusters of Playout servers, their addresses, access and roles.

This module holds the model only (frozen dataclasses, no I/O). Reading and writing the TOML
file lives in :mod:`pmc.inventory_file`, the rules in :mod:`pmc.validation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pmc.layout import DEFAULT_LAYOUT, PlayoutLayout


class Architecture(StrEnum):
    """The redundancy architectures of the vendor's manual."""

    MANUAL = "manual"  # export/import of configuration bundles only
    WEB_ONE_WAY = "web-one-way"  # Playout Web Redundancy, main master → backup spooler
    WEB_SYMMETRIC = "web-symmetric"  # Playout Web Redundancy both ways
    DATABASE = "database"  # 1+1 database replication (Slony copy config) prerequisites
    COMBINED = "combined"  # web redundancy plus database replication
    ADMIN_PLAYER = "admin-player"  # cluster of Admin and Player servers

    @property
    def title(self) -> str:  # type: ignore[override]  # str.title() is not used on it
        return _TITLES[self]


_TITLES = {
    Architecture.MANUAL: "Manual export and import",
    Architecture.WEB_ONE_WAY: "Web redundancy, main to backup",
    Architecture.WEB_SYMMETRIC: "Web redundancy, both ways",
    Architecture.DATABASE: "1+1 database replication",
    Architecture.COMBINED: "Web redundancy and database replication",
    Architecture.ADMIN_PLAYER: "Admin and Player cluster",
}


class Role(StrEnum):
    """What a server is in its cluster. Web redundancy speaks of master/spooler, copy config
    of primary/secondary, the cluster diagram of admin/player."""

    MAIN = "main"
    BACKUP = "backup"
    ADMIN = "admin"
    PLAYER = "player"


class AuthMethod(StrEnum):
    PASSWORD = "password"  # noqa: S105 - the method; the password itself is in the OS keyring
    KEY = "key"  # private key file; its passphrase, if any, in the OS keyring
    AGENT = "agent"  # ssh-agent


@dataclass(frozen=True)
class Server:
    name: str
    management_address: str  # eth3: SSH, Web Console, Playout API
    redundancy_address: str | None = None  # eth2: Slony copy config between main and backup
    role: Role = Role.MAIN
    ssh_port: int = 22
    ssh_user: str = "root"
    auth: AuthMethod = AuthMethod.PASSWORD
    key_file: str | None = None
    layout_overrides: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    @property
    def layout(self) -> PlayoutLayout:
        if not self.layout_overrides:
            return DEFAULT_LAYOUT
        return DEFAULT_LAYOUT.with_overrides(self.layout_overrides, where=f"server {self.name}")


class SyncEngine(StrEnum):
    """How a cluster's backup is brought in line with its main."""

    DELTA = "delta"  # PMC's native delta engine: only what differs
    PLAYOUT = "playout"  # Playout's own copy_config.sh: everything, through Slony


@dataclass(frozen=True)
class SyncSchedule:
    """When PMC synchronises a 1+1 cluster by itself (the ``[clusters.sync]`` table).

    ``every_minutes``: a sync this often (None: not periodically). ``on_drift``: look for drift
    every ``check_minutes`` and sync when something differs. With neither, the table only
    keeps the settings (no automatic sync).
    """

    every_minutes: float | None = None
    on_drift: bool = False
    check_minutes: float = 5.0
    engine: SyncEngine = SyncEngine.DELTA
    include_ts_outputs: bool = False

    @property
    def active(self) -> bool:
        return self.every_minutes is not None or self.on_drift

    def describe(self) -> str:
        """``every 15 min, on drift (checked every 5 min), delta engine`` or ``off``."""
        parts = []
        if self.every_minutes is not None:
            parts.append(f"every {_minutes(self.every_minutes)}")
        if self.on_drift:
            parts.append(f"on drift (checked every {_minutes(self.check_minutes)})")
        if not parts:
            parts.append("no automatic sync")
        parts.append(f"{self.engine.value} engine")
        if self.include_ts_outputs:
            parts.append("with TS outputs")
        return ", ".join(parts)


def _minutes(value: float) -> str:
    return f"{value:g} min"


@dataclass(frozen=True)
class Cluster:
    name: str
    architecture: Architecture = Architecture.COMBINED
    servers: tuple[Server, ...] = ()
    sync: SyncSchedule | None = None
    active: str | None = None
    """The server that is the cluster's source of truth now (``active = "backup"`` after a
    switchover, :mod:`pmc.switchover`); None: the main server. Syncs copy from it unless told
    otherwise; main and backup keep their roles (the names of the machines)."""

    def server(self, name: str) -> Server:
        for server in self.servers:
            if server.name == name:
                return server
        raise KeyError(name)

    def by_role(self, role: Role) -> tuple[Server, ...]:
        return tuple(s for s in self.servers if s.role is role)

    @property
    def main(self) -> Server | None:
        mains = self.by_role(Role.MAIN) or self.by_role(Role.ADMIN)
        return mains[0] if mains else None

    @property
    def backup(self) -> Server | None:
        backups = self.by_role(Role.BACKUP)
        return backups[0] if backups else None

    @property
    def active_server(self) -> Server | None:
        """The server :attr:`active` names, or the main server (also when it names none of
        the servers: the inventory's validation reports that)."""
        for server in self.servers:
            if server.name == self.active:
                return server
        return self.main


@dataclass(frozen=True)
class Inventory:
    clusters: tuple[Cluster, ...] = ()

    def cluster(self, name: str) -> Cluster:
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise KeyError(name)

    def with_cluster(self, cluster: Cluster, *, replacing: str | None = None) -> Inventory:
        """This inventory with the cluster called ``replacing`` (by default ``cluster``'s own
        name) replaced by ``cluster`` in its place, or ``cluster`` added at the end."""
        name = cluster.name if replacing is None else replacing
        if all(c.name != name for c in self.clusters):
            return Inventory((*self.clusters, cluster))
        return Inventory(tuple(cluster if c.name == name else c for c in self.clusters))

    def without_cluster(self, name: str) -> Inventory:
        return Inventory(tuple(c for c in self.clusters if c.name != name))

    def matching_servers(self, ref: str) -> list[tuple[Cluster, Server]]:
        """Every server called ``ref`` with its cluster; ``cluster/server`` names one cluster's."""
        cluster_name, _, server_name = ref.rpartition("/")
        return [
            (cluster, server)
            for cluster in self.clusters
            if not cluster_name or cluster.name == cluster_name
            for server in cluster.servers
            if server.name == server_name
        ]
