"""``firewall-cmd`` as firewalld 0.9 (Rocky 8) answers it, enforced with nftables.

The permanent configuration of zone ``public`` lives in ``/opt/playout/.lab/firewalld.json``;
the runtime one in the supervisor. ``--reload`` (and a restart of ``firewalld``) makes the
runtime a copy of the permanent one; a change without ``--permanent`` applies at once. Both
are enforced by :func:`nft_ruleset` in the server's network namespace (``inet firewalld``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pmc.lab import topology

EXIT_OK = 0
EXIT_NOT_RUNNING = 252
EXIT_INVALID_PORT = 102  # firewalld: INVALID_PORT
EXIT_ZONE = 112  # INVALID_ZONE
EXIT_USAGE = 2
ZONE = "public"
_PORT = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?/(tcp|udp|sctp|dccp)$")


@dataclass
class ZoneConfig:
    services: list[str] = field(default_factory=lambda: sorted(topology.FIREWALL_SERVICES))
    ports: list[str] = field(default_factory=lambda: list(topology.FRESH_FIREWALL_PORTS))

    def copy(self) -> ZoneConfig:
        return ZoneConfig(list(self.services), list(self.ports))

    def to_json(self) -> str:
        return json.dumps({"zone": ZONE, "services": self.services, "ports": self.ports}, indent=2)

    @classmethod
    def load(cls, path: Path) -> ZoneConfig:
        try:
            data = json.loads(path.read_text())
            return cls(list(data["services"]), list(data["ports"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()


class Firewall(Protocol):
    running: bool
    permanent: ZoneConfig
    runtime: ZoneConfig
    interfaces: list[str]

    def save_permanent(self) -> None: ...

    def apply(self) -> None: ...


def _valid_port(port: str) -> bool:
    m = _PORT.match(port)
    if not m:
        return False
    low = int(m.group(1))
    high = int(m.group(2) or low)
    return 0 < low <= high <= 65535


def list_all(zone: ZoneConfig, interfaces: list[str]) -> str:
    return (
        f"{ZONE} (active)\n"
        "  target: default\n"
        "  icmp-block-inversion: no\n"
        f"  interfaces: {' '.join(interfaces)}\n"
        "  sources: \n"
        f"  services: {' '.join(zone.services)}\n"
        f"  ports: {' '.join(zone.ports)}\n"
        "  protocols: \n"
        "  masquerade: no\n"
        "  forward-ports: \n"
        "  source-ports: \n"
        "  icmp-blocks: \n"
        "  rich rules: \n"
    )


def nft_ruleset(zone: ZoneConfig) -> str:
    """The ``inet firewalld`` table enforcing ``zone`` (input only, like firewalld's)."""
    tcp: list[str] = []
    udp: list[str] = []
    ports = list(zone.ports)
    for service in zone.services:
        ports += topology.FIREWALL_SERVICES.get(service, ())
    for port in ports:
        m = _PORT.match(port)
        if not m:
            continue
        spec = m.group(1) + (f"-{m.group(2)}" if m.group(2) else "")
        (tcp if m.group(3) == "tcp" else udp).append(spec)
    rules = [
        "ct state established,related accept",
        'iifname "lo" accept',
        "ct state invalid drop",
        "meta l4proto { icmp, ipv6-icmp } accept",
    ]
    if tcp:
        rules.append(f"tcp dport {{ {', '.join(sorted(set(tcp)))} }} accept")
    if udp:
        rules.append(f"udp dport {{ {', '.join(sorted(set(udp)))} }} accept")
    rules.append("reject with icmpx type admin-prohibited")
    body = "\n    ".join(rules)
    return (
        "table inet firewalld\n"
        "delete table inet firewalld\n"
        "table inet firewalld {\n"
        "  chain filter_INPUT {\n"
        "    type filter hook input priority filter + 10; policy accept;\n"
        f"    {body}\n"
        "  }\n"
        "}\n"
    )


def run(argv: list[str], fw: Firewall) -> tuple[int, str, str]:
    if "--state" in argv:
        return (EXIT_OK, "running\n", "") if fw.running else (EXIT_NOT_RUNNING, "", "not running\n")
    if not fw.running:
        return EXIT_NOT_RUNNING, "", "FirewallD is not running\n"
    permanent = "--permanent" in argv
    zone = fw.permanent if permanent else fw.runtime
    out: list[str] = []
    changed = False
    for arg in argv:
        if arg.startswith("--zone=") and arg.split("=", 1)[1] != ZONE:
            name = arg.split("=", 1)[1]
            return EXIT_ZONE, "", f"Error: INVALID_ZONE: {name}\n"
    actions = [a for a in argv if a not in ("--permanent",) and not a.startswith("--zone=")]
    if not actions:
        return EXIT_USAGE, "", "usage: see firewall-cmd man page\nNo option specified.\n"
    for arg in actions:
        key, _, value = arg.partition("=")
        if key in {"--reload", "--complete-reload"}:
            fw.runtime = fw.permanent.copy()
            fw.apply()
            out.append("success\n")
        elif key in ("--list-all", "--list-all-zones"):  # the lab has the one zone
            out.append(list_all(zone, fw.interfaces))
        elif key == "--list-ports":
            out.append(" ".join(zone.ports) + "\n")
        elif key == "--list-services":
            out.append(" ".join(zone.services) + "\n")
        elif key in {"--get-default-zone", "--get-active-zones"}:
            out.append(
                f"{ZONE}\n"
                if key.endswith("default-zone")
                else f"{ZONE}\n  interfaces: {' '.join(fw.interfaces)}\n"
            )
        elif key in ("--add-port", "--remove-port", "--query-port"):
            if not _valid_port(value):
                return EXIT_INVALID_PORT, "", f"Error: INVALID_PORT: {value}\n"
            if key == "--query-port":
                present = value in zone.ports
                return (EXIT_OK if present else 1), ("yes\n" if present else "no\n"), ""
            if key == "--add-port":
                if value in zone.ports:
                    out.append(f"Warning: ALREADY_ENABLED: {value}\nsuccess\n")
                    continue
                zone.ports.append(value)
            else:
                if value not in zone.ports:
                    out.append(f"Warning: NOT_ENABLED: {value}\nsuccess\n")
                    continue
                zone.ports.remove(value)
            changed = True
            out.append("success\n")
        elif key in ("--add-service", "--remove-service"):
            if key == "--add-service" and value not in zone.services:
                zone.services.append(value)
                zone.services.sort()
            elif key == "--remove-service" and value in zone.services:
                zone.services.remove(value)
            changed = True
            out.append("success\n")
        else:
            return EXIT_USAGE, "", f"firewall-cmd: error: unrecognized arguments: {arg}\n"
    if changed:
        if permanent:
            fw.save_permanent()
        else:
            fw.apply()
    return EXIT_OK, "".join(out), ""
