"""Helpers for the setup engine's lab tests and benchmark: a lab cluster as an inventory
cluster plus connections (root passwords in memory, host keys pinned from the lab)."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import paramiko

from pmc.inventory import Architecture, AuthMethod, Cluster, Role, Server
from pmc.remote.credentials import GivenCredentials
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool

T = TypeVar("T")


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


def in_operator_namespace(lab: Any, work: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine ``work()`` on a fresh thread inside the lab's operator namespace
    (threads it starts inherit the namespace; the test process's own threads are untouched)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            lab.enter_operator_namespace()
            box["result"] = asyncio.run(work())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="lab-operator")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]


def hash_files(lab: Any, paths: list[str]) -> dict[str, str]:
    """SHA-256 of each listed server file (or 'absent') on every lab server."""
    out: dict[str, str] = {}
    for srv in lab.servers.values():
        for path in paths:
            host = srv.path(path)
            out[f"{srv.name}:{path}"] = (
                hashlib.sha256(host.read_bytes()).hexdigest() if host.exists() else "absent"
            )
    return out


def api_request(lab: Any, address: str, method: str, path: str, body: Any = None) -> Any:
    """An HTTP request to a lab server's Playout API, from the operator's namespace."""

    async def go() -> Any:
        return _http(address, method, path, body)

    return in_operator_namespace(lab, go)


def _http(address: str, method: str, path: str, body: Any) -> Any:
    conn = http.client.HTTPConnection(address, 8081, timeout=20)
    try:
        data = json.dumps(body) if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()
