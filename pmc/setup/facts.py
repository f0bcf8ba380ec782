"""What PMC observed on one server: the input of every planner, frozen and fingerprinted.

:mod:`pmc.setup.observe` fills a :class:`ServerFacts` over SSH; the planners read it and do no
I/O. The fingerprint is a SHA-256 over a canonical JSON form of every fact, so that the
executor can observe again just before applying and stop if anything changed in between.
Golden tests write facts as JSON (:meth:`ServerFacts.from_data`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

# Keys of ServerFacts.files: which file each one is (paths come from the server's layout).
SPOOLERS = "spoolers_json"
REPLICATE = "replicate_conf"
PG_HBA = "pg_hba_conf"
POSTGRESQL_CONF = "postgresql_conf"
SSHD_CONFIG = "sshd_config"
AUTHORIZED_KEYS = "authorized_keys"
KNOWN_HOSTS = "known_hosts"
ROOT_PUBLIC_KEY = "id_ed25519_pub"
HOST_KEY = "ssh_host_ed25519_key_pub"

FILE_KEYS = (
    SPOOLERS,
    REPLICATE,
    PG_HBA,
    POSTGRESQL_CONF,
    SSHD_CONFIG,
    AUTHORIZED_KEYS,
    KNOWN_HOSTS,
    ROOT_PUBLIC_KEY,
    HOST_KEY,
)


@dataclass(frozen=True)
class ServerFacts:
    """Observed state of one server. A file's text is None when the file does not exist."""

    server: str
    files: tuple[tuple[str, str | None], ...] = ()
    root_private_key: bool = False  # /root/.ssh/id_ed25519 exists
    services: tuple[tuple[str, bool], ...] = ()  # (systemd name, active)
    firewall_running: bool = True
    firewall_ports: tuple[str, ...] = ()  # permanent configuration, e.g. "5432/tcp"
    firewall_runtime_ports: tuple[str, ...] | None = None  # None: same as permanent
    firewall_services: tuple[str, ...] = ()
    failover_peer: str | None = None  # the peer check_failover.sh was last run for

    @property
    def runtime_ports(self) -> tuple[str, ...]:
        if self.firewall_runtime_ports is None:
            return self.firewall_ports
        return self.firewall_runtime_ports

    def file(self, key: str) -> str | None:
        return dict(self.files).get(key)

    def active(self, service: str) -> bool | None:
        return dict(self.services).get(service)

    def as_data(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "files": dict(sorted(self.files)),
            "root_private_key": self.root_private_key,
            "services": dict(sorted(self.services)),
            "firewall_running": self.firewall_running,
            "firewall_ports": sorted(self.firewall_ports),
            "firewall_runtime_ports": None
            if self.firewall_runtime_ports is None
            else sorted(self.firewall_runtime_ports),
            "firewall_services": sorted(self.firewall_services),
            "failover_peer": self.failover_peer,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ServerFacts:
        return cls(
            server=data["server"],
            files=tuple(sorted(data.get("files", {}).items())),
            root_private_key=bool(data.get("root_private_key", False)),
            services=tuple(sorted(data.get("services", {}).items())),
            firewall_running=bool(data.get("firewall_running", True)),
            firewall_ports=tuple(sorted(data.get("firewall_ports", ()))),
            firewall_runtime_ports=None
            if data.get("firewall_runtime_ports") is None
            else tuple(sorted(data["firewall_runtime_ports"])),
            firewall_services=tuple(sorted(data.get("firewall_services", ()))),
            failover_peer=data.get("failover_peer"),
        )

    @property
    def fingerprint(self) -> str:
        canonical = json.dumps(self.as_data(), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
