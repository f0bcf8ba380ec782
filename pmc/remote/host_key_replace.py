"""Replacing a server's trusted host key: the one way a changed key becomes trusted.

After a server was reinstalled or its keys regenerated, PMC refuses it as a changed key until
the operator replaces the key, giving the fingerprint he read on the server's own console
(``ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub``): ``pmc hostkey replace SERVER
--fingerprint SHA256:…`` or *Server > Host key > Replace…*. PMC then reads the keys the server
presents (a key exchange only, nothing is sent after it), and only if one of them has exactly
that fingerprint does it become the host's one trusted key — the old ones are forgotten. The
replacement is recorded in the audit log with both fingerprints.
"""

from __future__ import annotations

from dataclasses import dataclass

import paramiko

from pmc.errors import RemoteError
from pmc.remote.connection import Connection
from pmc.remote.errors import Unreachable
from pmc.remote.host_keys import check_fingerprint, fingerprint, host_id
from pmc.store import Store

AUDIT_ACTION = "host key replaced"
# one signature algorithm of each key type a server may hold (asked one at a time)
KEY_ALGORITHMS = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
)


class HostKeyNotPresented(RemoteError):
    """The server presents no key with the fingerprint the operator gave. Nothing changed."""


@dataclass(frozen=True)
class Replaced:
    server: str
    host_id: str
    key_type: str
    fingerprint: str
    old: tuple[str, ...]  # "type SHA256:…" of each key it replaced

    def __str__(self) -> str:
        before = "; ".join(self.old) if self.old else "none"
        return (
            f"{self.server}: the trusted host key is now {self.key_type} {self.fingerprint} "
            f"(replaced: {before})"
        )


def _find(connection: Connection, wanted: str) -> paramiko.PKey:
    """The server's key with fingerprint ``wanted``: the one it prefers, else each type."""
    seen: list[str] = []
    for algorithms in (None, *((alg,) for alg in KEY_ALGORITHMS)):
        try:
            key = connection.presented_key(algorithms)
        except Unreachable:
            if algorithms is None:
                raise
            continue  # the server has no key of this type
        if fingerprint(key) == wanted:
            return key
        seen.append(f"{key.get_name()} {fingerprint(key)}")
    raise HostKeyNotPresented(
        f"the server presents no host key with the fingerprint {wanted} (it presents "
        f"{', '.join(dict.fromkeys(seen))}); the trusted key was not replaced",
        server=connection.label,
        hint="Check the fingerprint on the server's own console (ssh-keygen -lf "
        "/etc/ssh/ssh_host_ed25519_key.pub); a different one may mean someone is "
        "intercepting the connection",
    )


async def replace_host_key(
    connection: Connection, wanted: str, *, store: Store | None = None
) -> Replaced:
    """Trust only the server's key with fingerprint ``wanted`` from now on (see the module)."""
    wanted = check_fingerprint(wanted, where="--fingerprint")
    server = connection.server
    host = host_id(server.management_address, server.ssh_port)
    key = await connection.in_thread(connection.executors.control, _find, connection, wanted)
    old = await connection.in_thread(
        connection.executors.control, connection.known_hosts.replace, host, key
    )
    connection.drop()  # the next call connects again, checking the new key
    result = Replaced(
        connection.label,
        host,
        key.get_name(),
        wanted,
        tuple(f"{k.get_name()} {fingerprint(k)}" for k in old.values()),
    )
    if store is not None:
        store.audit(
            AUDIT_ACTION,
            cluster=connection.cluster or None,
            server=server.name,
            target=host,
            detail={"new": f"{result.key_type} {wanted}", "old": list(result.old)},
        )
    return result
