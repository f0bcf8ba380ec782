"""The lab's fixed shape: servers, addresses, namespaces, service names and ports.

Pure data, no I/O. Addresses are the seed's with the first octet changed to 127, so they only
ever exist inside a lab instance's namespaces (see ``pmc/lab/README.md``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pmc.errors import InputError

DEFAULT_LAB_ID = "pmc"
LAB_ID_ENV = "PMC_LAB_ID"
RUN_ROOT = Path("/run/pmc-lab")

OPERATOR_ADDRESS = "127.168.1.10"
MANAGEMENT_PREFIX = 24
REDUNDANCY_PREFIX = 24
MANAGEMENT_IF = "eth3"
REDUNDANCY_IF = "eth2"
BRIDGE = "br-mgmt"

# Inside a server: where the supervisor listens (the systemctl stand-in talks to it).
SUPERVISOR_SOCKET = "/run/pmc-lab-supervisor.sock"

STATES = ("fresh", "redundant")
SIZES = (2, 3, 4)


@dataclass(frozen=True)
class ServerSpec:
    name: str
    role: str  # "main", "backup" or "player" (pmc.inventory.Role values)
    management_address: str  # eth3, on the operator's bridge
    redundancy_address: str | None  # eth2, the direct link between main and backup

    @property
    def addresses(self) -> tuple[str, ...]:
        extra = (self.redundancy_address,) if self.redundancy_address else ()
        return (self.management_address, *extra)


ALL_SERVERS: tuple[ServerSpec, ...] = (
    ServerSpec("main", "main", "127.168.1.105", "127.17.59.128"),
    ServerSpec("backup", "backup", "127.168.1.108", "127.17.59.129"),
    ServerSpec("player1", "player", "127.168.1.111", None),
    ServerSpec("player2", "player", "127.168.1.112", None),
)


@dataclass(frozen=True)
class Service:
    """A systemd unit of a Playout server as the lab runs it."""

    name: str  # the unit name without ".service"
    description: str  # systemd's Description=, shown by `systemctl status`
    unit_path: str  # where Rocky 8 keeps the unit file (shown on the "Loaded:" line)
    tcp_ports: tuple[int, ...] = ()
    udp_ports: tuple[int, ...] = ()


SERVICES: tuple[Service, ...] = (
    Service("sshd", "OpenSSH server daemon", "/usr/lib/systemd/system/sshd.service", (22,)),
    Service(
        "postgresql",
        "PostgreSQL database server",
        "/usr/lib/systemd/system/postgresql.service",
        (5432,),
    ),
    Service(
        "playout-api",
        "Icareus Playout JSON API",
        "/usr/lib/systemd/system/playout-api.service",
        (8081,),
    ),
    Service(
        "playout-scheduler",
        "Icareus Playout Scheduler",
        "/usr/lib/systemd/system/playout-scheduler.service",
        (2001,),
    ),
    Service(
        "eit-update",
        "Icareus Playout EIT Update",
        "/usr/lib/systemd/system/eit-update.service",
        (5000,),
    ),
    Service(
        "playout-admin",
        "Icareus Playout Admin",
        "/usr/lib/systemd/system/playout-admin.service",
        (5555,),
    ),
    Service("httpd", "The Apache HTTP Server", "/usr/lib/systemd/system/httpd.service", (80,)),
    Service(
        "snmpd",
        "Simple Network Management Protocol (SNMP) Daemon.",
        "/usr/lib/systemd/system/snmpd.service",
        (),
        (161, 162),
    ),
    Service(
        "firewalld",
        "firewalld - dynamic firewall daemon",
        "/usr/lib/systemd/system/firewalld.service",
    ),
)
SERVICE_BY_NAME = {s.name: s for s in SERVICES}
LISTENER_SERVICES = ("playout-scheduler", "eit-update", "playout-admin", "httpd", "snmpd")

# What Playout's setup-firewall.sh leaves open (the seed: 5432 "should already be open").
FRESH_FIREWALL_PORTS = (
    "80/tcp",
    "8081/tcp",
    "2001/tcp",
    "5000/tcp",
    "5432/tcp",
    "5555/tcp",
    "161/udp",
    "162/udp",
)
# Rocky 8's default zone "public" services and the ports they open.
FIREWALL_SERVICES = {"cockpit": ("9090/tcp",), "dhcpv6-client": ("546/udp",), "ssh": ("22/tcp",)}

_LAB_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")


FLEET_SIZES = range(2, 65, 2)  # a fleet lab: pairs of light servers (main, backup)
_FLEET_FIRST = 130  # 127.168.1.130 onwards, on the same management bridge


def fleet_servers(count: int) -> tuple[ServerSpec, ...]:
    """``count`` light servers in main/backup pairs (``f01`` main, ``f02`` its backup, …),
    management addresses only (no eth2: a fleet lab has no database to replicate)."""
    if count not in FLEET_SIZES:
        raise InputError(
            f"a fleet lab has an even number of servers from 2 to 64, not {count}",
            hint="Use --fleet 2, 4, … 64.",
        )
    return tuple(
        ServerSpec(f"f{i + 1:02d}", "main" if i % 2 == 0 else "backup",
                   f"127.168.1.{_FLEET_FIRST + i}", None)
        for i in range(count)
    )  # fmt: skip


def servers_for(count: int) -> tuple[ServerSpec, ...]:
    if count not in SIZES:
        raise InputError(
            f"a lab has 2, 3 or 4 servers, not {count}", hint="Use --servers 2, 3 or 4."
        )
    return ALL_SERVERS[:count]


def unit_name(name: str) -> str:
    """``playout-api.service`` → ``playout-api``; unknown names raise KeyError."""
    base = name.removesuffix(".service")
    if base not in SERVICE_BY_NAME:
        raise KeyError(name)
    return base


def lab_id(value: str | None = None) -> str:
    """The lab instance id: ``value``, else ``$PMC_LAB_ID``, else ``pmc``; validated."""
    chosen = value or os.environ.get(LAB_ID_ENV) or DEFAULT_LAB_ID
    if not _LAB_ID.match(chosen):
        raise InputError(
            f"lab id {chosen!r} is not usable",
            hint="Use up to 24 lower-case letters, digits and dashes, starting with a letter "
            "or digit.",
        )
    return chosen


def namespace(lab: str, server: str) -> str:
    """Network namespace name of ``server`` (or ``op`` for the operator) in instance ``lab``."""
    return f"{lab}-{server}"


def state_dir(lab: str) -> Path:
    return RUN_ROOT / lab


def tree_dir(lab: str, server: str) -> Path:
    """Host path of a server's private tree; ``tree / "opt/playout"`` is its /opt/playout."""
    return state_dir(lab) / server
