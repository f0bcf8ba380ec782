"""The lab's networks: one network namespace per server and one for the operator.

``lo`` in every namespace holds only 127.0.0.1/32 and ``route_localnet`` is on everywhere, so
the 127.x addresses of :mod:`pmc.lab.topology` can live on veth links: the management network
is a bridge (``br-mgmt``) in the operator's namespace with one veth to each server's ``eth3``;
``eth2`` is a veth pair between main and backup. No interface is ever created in the machine's
own namespace (veths are made with ``ip -n NS link add … peer … netns OTHER``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from pmc.errors import LabError
from pmc.lab import topology
from pmc.lab.topology import ServerSpec

NETNS_DIR = Path("/run/netns")


def _run(argv: Sequence[str], *, input_text: str | None = None) -> None:
    proc = subprocess.run(list(argv), input=input_text, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        command = " ".join(argv[:6])
        raise LabError(
            f"setting up the lab network failed: `{command}` said: "
            f"{(proc.stderr or proc.stdout).strip()}",
            hint="Run `pmc lab down` and try again; if it persists, check `ip netns list`.",
        )


def namespaces(lab: str) -> list[str]:
    """The network namespaces of instance ``lab`` that exist now."""
    prefix = f"{lab}-"
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    known = (*topology.ALL_SERVERS, *topology.fleet_servers(max(topology.FLEET_SIZES)))
    ours = {topology.namespace(lab, s.name) for s in known}
    ours.add(topology.namespace(lab, "op"))
    return sorted(n for n in names if n.startswith(prefix) and n in ours)


def _localnet_sysctls(interfaces: Sequence[str]) -> list[str]:
    names = ["all", "default", "lo", *interfaces]
    return [f"net.ipv4.conf.{name}.route_localnet=1" for name in names]


def create(lab: str, servers: Sequence[ServerSpec]) -> None:
    """Create the namespaces and links of ``servers`` (raises LabError; caller cleans up)."""
    op = topology.namespace(lab, "op")
    all_ns = [op] + [topology.namespace(lab, s.name) for s in servers]
    for ns in all_ns:
        _run(["ip", "netns", "add", ns])
        _run(
            [
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-q",
                "-w",
                *_localnet_sysctls([]),
            ]
        )
    # The operator: lo, the bridge, one veth per server (its peer is the server's eth3).
    op_cmds = [
        "link set lo up",
        "addr del 127.0.0.1/8 dev lo",
        "addr add 127.0.0.1/32 dev lo",
        f"link add {topology.BRIDGE} type bridge",
        f"addr add {topology.OPERATOR_ADDRESS}/{topology.MANAGEMENT_PREFIX} dev {topology.BRIDGE}",
        f"link set {topology.BRIDGE} up",
    ]
    for server in servers:
        ns = topology.namespace(lab, server.name)
        port = f"mgmt-{server.name}"
        op_cmds += [
            f"link add {port} type veth peer name {topology.MANAGEMENT_IF} netns {ns}",
            f"link set {port} master {topology.BRIDGE} up",
        ]
    _run(["ip", "-n", op, "-batch", "-"], input_text="\n".join(op_cmds) + "\n")
    names = {s.name for s in servers}
    if "main" in names and "backup" in names:
        _run(
            [
                "ip",
                "-n",
                topology.namespace(lab, "main"),
                "link",
                "add",
                topology.REDUNDANCY_IF,
                "type",
                "veth",
                "peer",
                "name",
                topology.REDUNDANCY_IF,
                "netns",
                topology.namespace(lab, "backup"),
            ]
        )
    for server in servers:
        ns = topology.namespace(lab, server.name)
        cmds = [
            "link set lo up",
            "addr del 127.0.0.1/8 dev lo",
            "addr add 127.0.0.1/32 dev lo",
            f"addr add {server.management_address}/{topology.MANAGEMENT_PREFIX} "
            f"dev {topology.MANAGEMENT_IF}",
            f"link set {topology.MANAGEMENT_IF} up",
        ]
        interfaces = [topology.MANAGEMENT_IF]
        if server.redundancy_address and {"main", "backup"} <= names:
            cmds += [
                f"addr add {server.redundancy_address}/{topology.REDUNDANCY_PREFIX} "
                f"dev {topology.REDUNDANCY_IF}",
                f"link set {topology.REDUNDANCY_IF} up",
            ]
            interfaces.append(topology.REDUNDANCY_IF)
        _run(["ip", "-n", ns, "-batch", "-"], input_text="\n".join(cmds) + "\n")
        _run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", *_localnet_sysctls(interfaces)])
    op_ifs = [topology.BRIDGE] + [f"mgmt-{s.name}" for s in servers]
    _run(["ip", "netns", "exec", op, "sysctl", "-q", "-w", *_localnet_sysctls(op_ifs)])


def delete(lab: str) -> None:
    """Delete every namespace of ``lab`` (their interfaces go with them)."""
    for ns in namespaces(lab):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
