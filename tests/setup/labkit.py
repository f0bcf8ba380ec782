"""Helpers for the setup engine's lab tests and benchmark: a lab cluster as an inventory
cluster plus connections (root passwords in memory, host keys pinned from the lab)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import paramiko

from pmc.inventory import Architecture, AuthMethod, Cluster, Role, Server
from pmc.remote.credentials import GivenCredentials
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool


def lab_cluster(lab: Any, architecture: Architecture, name: str = "lab") -> Cluster:
    servers = []
    for srv in lab.servers.values():
        role = Role(srv.role) if srv.role in {r.value for r in Role} else Role.PLAYER
        if architecture is Architecture.ADMIN_PLAYER and role is Role.MAIN:
            role = Role.ADMIN
        if architecture is not Architecture.ADMIN_PLAYER and role is Role.PLAYER:
            continue
        servers.append(
            Server(
                name=srv.name,
                management_address=srv.management_address,
                redundancy_address=srv.redundancy_address
                if architecture is not Architecture.ADMIN_PLAYER
                else None,
                role=role,
                auth=AuthMethod.PASSWORD,
            )
        )
    return Cluster(name=name, architecture=architecture, servers=tuple(servers))


def lab_pool(lab: Any, cluster: Cluster, folder: Path | None = None) -> ConnectionPool:
    folder = folder or Path(tempfile.mkdtemp(prefix="pmc-setup-"))
    known = KnownHosts(folder / "known_hosts")
    for srv in lab.servers.values():
        kind, data = srv.host_key().split()[:2]
        key = paramiko.PKey.from_type_string(kind, __import__("base64").b64decode(data))
        known.add(srv.management_address, key)
    passwords = {srv.name: srv.root_password for srv in lab.servers.values()}
    return ConnectionPool(known_hosts=known, credentials=GivenCredentials(passwords))


def connections(pool: ConnectionPool, cluster: Cluster) -> dict[str, Any]:
    return {s.name: pool.connection(s, cluster.name) for s in cluster.servers}
