"""The Playout files of a lab server under ``/opt/playout``, in state ``fresh`` or ``redundant``.

``fresh`` is what the installers leave: spoolers.json naming only the server itself (as
``master``, exactly as the API installer writes it), replicate.conf with only its own management
address, no failover peer. ``redundant`` is every Playout-side step of the seed done: symmetric
spoolers.json on main and backup (each lists itself as master, the other as spooler),
replicate.conf with its own eth2 address first and the peer's second, and check_failover.sh run
with the peer's eth2 address (``/opt/playout/.failover-peer``). Players (3- and 4-server
clusters) are spoolers of main and backup and keep their fresh files.

System-level files (pg_hba.conf, postgresql.conf, sshd_config, root keys, firewall) belong to
the lab core (``pmc/lab/README.md``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pmc.lab import topology
from pmc.lab.playout import SCRIPTS, bin_dir

FAILOVER_PEER = ".failover-peer"
"""Where check_failover.sh records the peer, relative to /opt/playout."""

_INSTALL_API = """#!/bin/bash
# Playout API installer (lab): writes the API's configuration for this server's management
# address and restarts the API. install-api.sh [MANAGEMENT_ADDRESS]
CONFIG=/opt/playout/api/config
ADDRESS=$1
if [ -z "$ADDRESS" ]; then
    read -r -p "Management interface IP address: " ADDRESS
fi
mkdir -p "$CONFIG"
printf '[{"name":"master","address":"%s","type":"master"}]\\n' "$ADDRESS" > "$CONFIG/spoolers.json"
printf '%s\\n' "$ADDRESS" > "$CONFIG/replicate.conf"
echo "$0: wrote $CONFIG/spoolers.json and $CONFIG/replicate.conf"
systemctl restart playout-api.service
"""


class Peer(Protocol):
    """Another server of the lab (``pmc.lab.topology.ServerSpec`` fits)."""

    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def management_address(self) -> str: ...
    @property
    def redundancy_address(self) -> str | None: ...


def spoolers_fresh(management_address: str) -> str:
    return (
        json.dumps(
            [{"name": "master", "address": management_address, "type": "master"}],
            separators=(",", ":"),
        )
        + "\n"
    )


def spoolers_listing(entries: Sequence[tuple[str, str, str]]) -> str:
    """spoolers.json laid out as the seed shows it: one server per line."""
    lines = [
        json.dumps({"name": n, "address": a, "type": t}, separators=(",", ":"))
        for n, a, t in entries
    ]
    return "[\n" + ",\n".join(f"  {line}" for line in lines) + "\n]\n"


def playout_files(  # noqa: PLR0917 (the lab core's call)
    server_name: str,
    role: str,
    management_address: str,
    redundancy_address: str | None,
    peers: Sequence[Peer],
    state: str,
) -> dict[str, tuple[bytes, int]]:
    """``{path relative to /opt/playout: (content, mode)}`` for one server in ``state``.

    ``peers`` are the other servers of the lab (not this one). Folders are implied by the paths.
    """
    if state not in ("fresh", "redundant"):
        raise ValueError(f"unknown lab state {state!r}")
    files: dict[str, tuple[bytes, int]] = {}
    for script in SCRIPTS:
        files[f"bin/{script}"] = ((bin_dir() / script).read_bytes(), 0o755)
    files["install-api.sh"] = (_INSTALL_API.encode(), 0o755)
    for folder in ("carousel", "av", "ts"):
        files[f"data/{folder}/.keep"] = (b"", 0o644)

    spoolers = spoolers_fresh(management_address)
    replicate = f"{management_address}\n"
    partner = next(
        (p for p in peers if {role, p.role} == {"main", "backup"} and p.redundancy_address), None
    )
    if state == "redundant" and role in ("main", "backup"):
        entries = [(server_name, management_address, "master")]
        entries += [(p.name, p.management_address, "spooler") for p in peers if p is partner]
        entries += [(p.name, p.management_address, "spooler") for p in peers if p.role == "player"]
        spoolers = spoolers_listing(entries)
        if partner is not None and redundancy_address:
            assert partner.redundancy_address is not None
            replicate = f"{redundancy_address}\n{partner.redundancy_address}\n"
            files[FAILOVER_PEER] = (f"{partner.redundancy_address}\n".encode(), 0o644)
    files["api/config/spoolers.json"] = (spoolers.encode(), 0o644)
    files["api/config/replicate.conf"] = (replicate.encode(), 0o644)
    return files


def install(trees: dict[str, Path], state: str) -> None:
    """Write every server's Playout files into its private tree (``tree / "opt/playout"``).

    ``trees`` maps the lab's server names (:data:`pmc.lab.topology.ALL_SERVERS`) to the host
    paths of their trees.
    """
    known = (*topology.ALL_SERVERS, *topology.fleet_servers(max(topology.FLEET_SIZES)))
    specs = [s for s in known if s.name in trees]
    for spec in specs:
        peers = [p for p in specs if p is not spec]
        if spec.name.startswith("f"):  # a fleet lab: the server's own pair only
            pair = (int(spec.name[1:]) - 1) // 2
            peers = [p for p in peers if (int(p.name[1:]) - 1) // 2 == pair]
        root = trees[spec.name] / "opt/playout"
        files = playout_files(
            spec.name, spec.role, spec.management_address, spec.redundancy_address, peers, state
        )
        for relative, (content, mode) in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            path.chmod(mode)
