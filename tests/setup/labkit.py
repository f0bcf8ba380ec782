"""What only the setup engine's lab tests (and bench/bench_setup.py) need on top of the shared
lab fixtures (tests/fixtures/lab.py) and the lab API (pmc.lab): the lab as an inventory
cluster, a connection pool that trusts exactly the lab's host keys, a hash of the files a
setup may touch (to prove a rollback left every server byte-for-byte as before), and the
rocky flavour's sshd drop-in that forbids root's login (issue 16's case) with what ``sshd -T``
says of it.

Running coroutines in the operator's namespace is the lab's own
``LabCluster.call_in_operator_namespace`` (see :func:`in_lab`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.client
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import paramiko

from pmc.inventory import Architecture, AuthMethod, Cluster, Role, Server
from pmc.lab import LabCluster
from pmc.remote.connection import Connection
from pmc.remote.credentials import GivenCredentials
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool

T = TypeVar("T")

SSHD_DROP_INS = "/etc/ssh/sshd_config.d/"

# Every file a setup may create or change on a lab server (the firewall's permanent state
# included), for byte-for-byte comparisons.
TOUCHED = (
    "/opt/playout/api/config/spoolers.json",
    "/opt/playout/api/config/replicate.conf",
    "/opt/playout/db/pg_hba.conf",
    "/opt/playout/db/postgresql.conf",
    "/etc/ssh/sshd_config",
    "/root/.ssh/authorized_keys",
    "/root/.ssh/known_hosts",
    "/root/.ssh/id_ed25519",
    "/root/.ssh/id_ed25519.pub",
    "/opt/playout/.failover-peer",
    "/opt/playout/.lab/firewalld.json",
    # the rocky flavour's: drop-ins, ALTER SYSTEM's file, the real firewalld's zone
    "/etc/ssh/sshd_config.d/00-pmc.conf",
    "/etc/ssh/sshd_config.d/01-permitrootlogin.conf",
    "/etc/ssh/sshd_config.d/50-redhat.conf",
    "/opt/playout/db/postgresql.auto.conf",
    "/etc/firewalld/zones/public.xml",
)


def lab_cluster(
    lab: LabCluster,
    architecture: Architecture,
    name: str = "lab",
    *,
    key_file: Path | None = None,
    user: str = "root",
) -> Cluster:
    """The lab's servers as an inventory cluster for ``architecture`` (admin/player: main is
    the admin, every other server a player). With ``key_file`` PMC logs in by that key; as
    ``user`` (root, or the lab's ``operator`` who has sudo rights)."""
    servers = []
    for srv in lab.servers.values():
        if architecture is Architecture.ADMIN_PLAYER:
            role = Role.ADMIN if srv.role == "main" else Role.PLAYER
        elif srv.role in ("main", "backup"):
            role = Role(srv.role)
        else:
            continue
        servers.append(
            Server(
                name=srv.name,
                management_address=srv.management_address,
                redundancy_address=None
                if architecture is Architecture.ADMIN_PLAYER
                else srv.redundancy_address,
                role=role,
                auth=AuthMethod.KEY if key_file else AuthMethod.PASSWORD,
                key_file=str(key_file) if key_file else None,
                ssh_user=user,
            )
        )
    return Cluster(name=name, architecture=architecture, servers=tuple(servers))


def trust_lab(lab: LabCluster, known_hosts: Path) -> KnownHosts:
    """A known_hosts file holding every lab server's ed25519 host key."""
    known = KnownHosts(known_hosts)
    for srv in lab.servers.values():
        kind, data = srv.host_key().split()[:2]
        known.add(
            srv.management_address, paramiko.PKey.from_type_string(kind, base64.b64decode(data))
        )
    return known


def lab_pool(lab: LabCluster, folder: Path, user: str = "root") -> ConnectionPool:
    """Connections with ``user``'s passwords in memory and the lab's host keys pinned."""
    passwords = {srv.name: srv.password_of(user) for srv in lab.servers.values()}
    return ConnectionPool(
        known_hosts=trust_lab(lab, folder / "known_hosts"),
        credentials=GivenCredentials(passwords),
    )


def connections(pool: ConnectionPool, cluster: Cluster) -> dict[str, Connection]:
    return {s.name: pool.connection(s, cluster.name) for s in cluster.servers}


def in_lab(lab: LabCluster, work: Callable[[], Awaitable[T]]) -> T:
    """``asyncio.run(work())`` on a thread inside the lab's operator namespace."""
    return lab.call_in_operator_namespace(lambda: asyncio.run(work()))  # type: ignore[arg-type]


def hash_files(lab: LabCluster, paths: tuple[str, ...] = TOUCHED) -> dict[str, str]:
    """SHA-256 of each listed server file (or 'absent') on every lab server."""
    out: dict[str, str] = {}
    for srv in lab.servers.values():
        for path in paths:
            host = srv.path(path)
            out[f"{srv.name}:{path}"] = (
                hashlib.sha256(host.read_bytes()).hexdigest() if host.exists() else "absent"
            )
    return out


def api_request(lab: LabCluster, address: str, method: str, path: str, body: Any = None) -> Any:
    """An HTTP request to a lab server's Playout API (port 8081), from the operator's namespace."""

    def go() -> Any:
        conn = http.client.HTTPConnection(address, 8081, timeout=20)
        try:
            data = json.dumps(body) if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    return lab.call_in_operator_namespace(go)


def sshd_root_login(lab: LabCluster, name: str, peer: str) -> str:
    """The ``permitrootlogin`` line ``sshd -T`` prints inside server ``name`` for root coming
    from ``peer``'s eth2 address (as the peer's copy config connects)."""
    srv, other = lab.servers[name], lab.servers[peer]
    spec = f"user=root,host={other.redundancy_address},addr={other.redundancy_address}"
    done = srv.run(["/usr/sbin/sshd", "-T", "-C", spec], check=True)
    return next(line for line in done.stdout.splitlines() if line.startswith("permitrootlogin"))


def forbid_root_login_in_drop_in(lab: LabCluster) -> None:
    """On every server of a rocky lab, the administrator changed the drop-in Rocky's installer
    wrote (``01-permitrootlogin.conf``) to ``PermitRootLogin no`` and restarted sshd: the
    drop-in wins, root cannot log in at all (PMC logs in as the lab's ``operator``, who has
    sudo rights)."""
    for srv in lab.servers.values():
        harden = srv.path(SSHD_DROP_INS + "01-permitrootlogin.conf")
        harden.write_text("# site policy\nPermitRootLogin no\n")
        harden.chmod(0o600)
        if srv.systemctl("restart", "sshd").returncode != 0:
            raise AssertionError(f"sshd did not restart on {srv.name}")
    said = sshd_root_login(lab, "main", "backup")
    assert said == "permitrootlogin no", said
