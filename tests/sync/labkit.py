"""The sync tests' lab: a redundant two-server lab, an inventory cluster and connections.

Until a shared ``lab`` fixture lands in tests/fixtures, this module starts its own instance
(a unique lab id) and returns this thread to the machine's network namespace afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from pmc.inventory import Architecture, AuthMethod, Cluster, Role, Server
from pmc.remote.credentials import GivenCredentials
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool

CLONE_NEWNET = 0x40000000


def why_not() -> str | None:
    try:
        from pmc import lab

        lab.check_machine()
    except Exception as exc:
        return f"the lab cannot run here: {exc}"
    return None


def cluster_of(lab: Any, name: str = "lab") -> Cluster:
    servers = tuple(
        Server(
            name=s.name,
            management_address=s.management_address,
            redundancy_address=s.redundancy_address,
            role=Role(s.role),
            auth=AuthMethod.PASSWORD,
        )
        for s in lab.servers.values()
        if s.role in ("main", "backup")
    )
    return Cluster(name=name, architecture=Architecture.COMBINED, servers=servers)


def pool_of(lab: Any) -> ConnectionPool:
    folder = Path(tempfile.mkdtemp(prefix="pmc-sync-"))
    known = KnownHosts(folder / "known_hosts")
    for srv in lab.servers.values():
        kind, data = srv.host_key().split()[:2]
        known.add(
            srv.management_address, paramiko.PKey.from_type_string(kind, base64.b64decode(data))
        )
    passwords = {srv.name: srv.root_password for srv in lab.servers.values()}
    return ConnectionPool(known_hosts=known, credentials=GivenCredentials(passwords))


class SyncLab:
    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self.cluster = cluster_of(lab)
        self.main = lab.servers["main"]
        self.backup = lab.servers["backup"]

    def sql(self, server: str, query: str) -> str:
        srv = self.lab.servers[server]
        out = srv.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d",
                       "playout", "-c", query], check=True)  # fmt: skip
        return str(out.stdout).strip()

    def run(self, coro: Any) -> Any:
        return asyncio.run(coro)


@pytest.fixture(scope="module")
def sync_lab() -> Iterator[SyncLab]:
    reason = why_not()
    if reason:
        pytest.skip(reason)
    from pmc import lab as lab_module

    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    cluster = lab_module.up(servers=2, state="redundant", seed_rows=300, data_mb=1,
                            lab_id=f"sync{os.getpid() % 10000}")  # fmt: skip
    try:
        cluster.enter_operator_namespace()
        yield SyncLab(cluster)
    finally:
        ctypes.CDLL(None, use_errno=True).setns(own, CLONE_NEWNET)
        os.close(own)
        cluster.down()
