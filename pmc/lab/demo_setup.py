"""The app on the rehearsal lab, for ``make demo``, ``make screenshots`` and the GUI bench.

Brings up a fresh lab, moves this process into the operator's network namespace (before any
worker thread starts, so that every thread sees the lab's addresses), writes an inventory of
the lab cluster, and gives the SSH pool the lab's root passwords in memory (no keyring needed,
nothing written) and the lab's host keys (read from the lab's own files: these are the keys
the operator would compare on each server's console).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pmc.inventory import Architecture, Cluster, Inventory, Role, Server
from pmc.inventory_file import save_inventory
from pmc.lab.control import LabCluster, down, up
from pmc.remote.credentials import GivenCredentials
from pmc.remote.host_keys import KnownHosts, RefuseUnknown, TrustDecision
from pmc.remote.pool import ConnectionPool

ROLES = {"main": Role.MAIN, "backup": Role.BACKUP, "player1": Role.PLAYER, "player2": Role.PLAYER}


@dataclass
class LabSetup:
    lab: LabCluster
    inventory_path: Path
    cluster: Cluster
    known_hosts: Path

    def pool(self, trust: TrustDecision | None = None) -> ConnectionPool:
        passwords = {f"lab/{s.name}": s.root_password for s in self.lab.servers.values()}
        return ConnectionPool(
            known_hosts=KnownHosts(self.known_hosts),
            credentials=GivenCredentials(passwords),
            trust=trust or RefuseUnknown(),
        )


def lab_cluster(running: LabCluster) -> Cluster:
    servers = tuple(
        Server(
            name,
            s.management_address,
            s.redundancy_address,
            ROLES.get(name, Role.PLAYER),
        )
        for name, s in running.servers.items()
    )
    two = len(servers) == 2
    return Cluster("lab", Architecture.COMBINED if two else Architecture.MANUAL, servers)


@contextlib.contextmanager
def lab_app_setup(
    folder: Path, *, servers: int = 2, trust_keys: bool = True, lab_id: str | None = None
) -> Iterator[LabSetup]:
    """A fresh lab with its inventory in ``folder``; the lab goes down on exit."""
    lab_id = lab_id or os.environ.get("PMC_LAB_ID") or "pmc-gui"
    running = up(servers=servers, state="fresh", lab_id=lab_id)
    try:
        running.enter_operator_namespace()
        folder.mkdir(parents=True, exist_ok=True)
        cluster = lab_cluster(running)
        inventory = folder / "inventory.toml"
        inventory.unlink(missing_ok=True)
        save_inventory(Inventory((cluster,)), inventory)
        known_hosts = folder / "known_hosts"
        known_hosts.unlink(missing_ok=True)
        if trust_keys:
            lines = [
                f"{s.management_address} {s.host_key('ed25519')}\n"
                for s in running.servers.values()
            ]
            known_hosts.write_text("".join(lines))
        yield LabSetup(running, inventory, cluster, known_hosts)
    finally:
        down(lab_id)
