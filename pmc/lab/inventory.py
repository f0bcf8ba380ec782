"""A running lab as PMC sees it: its inventory, its keyring names and its trusted host keys.

``pmc lab up`` and ``pmc lab inventory`` use these so that the keyring entries, the inventory
file and PMC's known_hosts all name the same clusters and servers:

- two servers: one cluster (architecture ``combined``) with ``main`` and ``backup``;
- three or four: that cluster plus a second one, ``<cluster>-players`` (architecture
  ``manual``: export and import of bundles), with ``player1`` [and ``player2``] as players,
  since an address may belong to one server only and the combined architecture takes exactly
  one main and one backup.

The cluster is ``lab`` for the default instance (``pmc``) and ``lab-<id>`` for others, so that
labs running side by side keep their own passwords in the keyring. Host keys are the lab's own
(read from each server's private ``/etc/ssh``), so PMC may trust them without asking.
"""

from __future__ import annotations

import base64
from pathlib import Path

import paramiko

from pmc.inventory import Architecture, Cluster, Inventory, Role, Server
from pmc.lab import topology
from pmc.lab.control import LabCluster
from pmc.remote.host_keys import KnownHosts, host_id

LAB_CLUSTER = "lab"
PLAYERS_SUFFIX = "-players"
HOST_KEY_KINDS = ("ed25519", "ecdsa", "rsa")
_ROLES = {"main": Role.MAIN, "backup": Role.BACKUP, "player": Role.PLAYER}


def cluster_name(lab_id: str) -> str:
    """The inventory cluster of lab instance ``lab_id`` (``lab``, or ``lab-<id>``)."""
    return LAB_CLUSTER if lab_id == topology.DEFAULT_LAB_ID else f"{LAB_CLUSTER}-{lab_id}"


def inventory_of(cluster: LabCluster) -> Inventory:
    """The inventory of a running lab (root over SSH with a password from the keyring); a
    fleet lab's pairs are clusters ``<name>-site01``, ``<name>-site02``…"""
    name = cluster_name(cluster.lab_id)
    if any(s.spec in topology.fleet_servers(64) for s in cluster.servers.values()):
        return fleet_inventory(cluster, name)
    pair: list[Server] = []
    players: list[Server] = []
    for srv in cluster.servers.values():
        entry = Server(
            name=srv.name,
            management_address=srv.management_address,
            redundancy_address=srv.redundancy_address,
            role=_ROLES[srv.role],
        )
        (players if entry.role is Role.PLAYER else pair).append(entry)
    clusters = [Cluster(name, Architecture.COMBINED, tuple(pair))]
    if players:
        clusters.append(Cluster(name + PLAYERS_SUFFIX, Architecture.MANUAL, tuple(players)))
    return Inventory(tuple(clusters))


def fleet_inventory(cluster: LabCluster, name: str) -> Inventory:
    """A fleet lab's main/backup pairs, one combined cluster each (no eth2)."""
    servers = sorted(cluster.servers.values(), key=lambda s: s.name)
    clusters = []
    for i in range(0, len(servers) - 1, 2):
        pair = tuple(
            Server(s.name, s.management_address, None, _ROLES[s.role]) for s in servers[i : i + 2]
        )
        clusters.append(Cluster(f"{name}-site{i // 2 + 1:02d}", Architecture.COMBINED, pair))
    return Inventory(tuple(clusters))


def secret_names(cluster: LabCluster) -> dict[str, tuple[str, str]]:
    """Lab server name → (inventory cluster, server) its root password is stored under."""
    return {
        server.name: (entry.name, server.name)
        for entry in inventory_of(cluster).clusters
        for server in entry.servers
    }


def trust_host_keys(cluster: LabCluster, known_hosts: Path | KnownHosts) -> list[str]:
    """Put every lab server's host keys (ed25519, ecdsa, rsa) for its management address
    (port 22) into ``known_hosts`` (PMC's file, OpenSSH format, or the store a connection pool
    holds), replacing older keys of the same type for those addresses (an earlier lab's).
    Returns ``name (address)`` per server."""

    store = known_hosts if isinstance(known_hosts, KnownHosts) else KnownHosts(known_hosts)
    trusted = []
    for srv in cluster.servers.values():
        for kind in HOST_KEY_KINDS:
            if not srv.path(f"/etc/ssh/ssh_host_{kind}_key.pub").exists():
                continue  # a light server (a fleet lab) has an ed25519 key only
            key_type, blob = srv.host_key(kind).split()[:2]
            key = paramiko.PKey.from_type_string(key_type, base64.b64decode(blob))
            store.add(host_id(srv.management_address, 22), key)
        trusted.append(f"{srv.name} ({srv.management_address})")
    return trusted
