"""What PMC observed on one server: the input of every planner, frozen and fingerprinted.

:mod:`pmc.setup.observe` fills a :class:`ServerFacts` over SSH; the planners read it and do no
I/O. The fingerprint is a SHA-256 over a canonical JSON form of every fact, so that the
executor can observe again just before applying and stop if anything changed in between.
Golden tests write facts as JSON (:meth:`ServerFacts.from_data`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import astuple, dataclass
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
PG_AUTO_CONF = "postgresql_auto_conf"  # ALTER SYSTEM's file in the data folder

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
    PG_AUTO_CONF,
)

# What PMC asks PostgreSQL's pg_settings about (the server's own word on where it reads them).
PG_SETTINGS = ("listen_addresses", "config_file", "hba_file", "data_directory")


@dataclass(frozen=True)
class PgSetting:
    """A row of ``pg_settings``: the value PostgreSQL runs with and where it comes from."""

    name: str
    setting: str
    source: str  # "configuration file", "default", "command line", …
    sourcefile: str = ""
    sourceline: int = 0
    pending_restart: bool = False

    @property
    def place(self) -> str:
        if self.sourcefile:
            return f"{self.sourcefile}:{self.sourceline}"
        return f"PostgreSQL's {self.source}"


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
    firewall_services: tuple[str, ...] = ()  # permanent configuration, e.g. "postgresql"
    firewall_runtime_services: tuple[str, ...] | None = None  # None: same as permanent
    failover_peer: str | None = None  # the peer check_failover.sh was last run for
    # firewalld: the zone that takes the peer's connections over eth2 (None: the layout's)
    firewall_zone: str | None = None
    firewall_zone_reason: str = ""
    # sshd: the files its Include lines name (path -> text, None: absent) and each Include
    # pattern's expansion on the server, in sshd's order; the main file is files[SSHD_CONFIG]
    sshd_files: tuple[tuple[str, str | None], ...] = ()
    sshd_globs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # `sshd -T -C <sshd_login>` (copy config's login from the peer): keyword -> value;
    # None when it could not be asked (sshd_problem says why)
    sshd_login: str | None = None
    sshd_effective: tuple[tuple[str, str], ...] | None = None
    sshd_problem: str | None = None
    # PostgreSQL: pg_settings rows (None: not running or not asked, pg_problem says why),
    # pg_hba_file_rules' errors (line, error), and the files postgresql.conf includes
    pg_settings: tuple[PgSetting, ...] | None = None
    pg_hba_errors: tuple[tuple[int, str], ...] = ()
    pg_problem: str | None = None
    pg_files: tuple[tuple[str, str | None], ...] = ()
    pg_globs: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def runtime_ports(self) -> tuple[str, ...]:
        if self.firewall_runtime_ports is None:
            return self.firewall_ports
        return self.firewall_runtime_ports

    @property
    def runtime_services(self) -> tuple[str, ...]:
        if self.firewall_runtime_services is None:
            return self.firewall_services
        return self.firewall_runtime_services

    def file(self, key: str) -> str | None:
        return dict(self.files).get(key)

    def active(self, service: str) -> bool | None:
        return dict(self.services).get(service)

    def sshd_value(self, keyword: str) -> str | None:
        """What ``sshd -T`` said about ``keyword`` for :attr:`sshd_login` (None: not asked)."""
        if self.sshd_effective is None:
            return None
        return dict(self.sshd_effective).get(keyword.lower())

    def pg_setting(self, name: str) -> PgSetting | None:
        return next((s for s in self.pg_settings or () if s.name == name), None)

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
            "firewall_runtime_services": None
            if self.firewall_runtime_services is None
            else sorted(self.firewall_runtime_services),
            "failover_peer": self.failover_peer,
            "firewall_zone": self.firewall_zone,
            "firewall_zone_reason": self.firewall_zone_reason,
            "sshd_files": dict(sorted(self.sshd_files)),
            "sshd_globs": {k: list(v) for k, v in sorted(self.sshd_globs)},
            "sshd_login": self.sshd_login,
            "sshd_effective": None
            if self.sshd_effective is None
            else dict(sorted(self.sshd_effective)),
            "sshd_problem": self.sshd_problem,
            "pg_settings": None
            if self.pg_settings is None
            else [list(astuple(s)) for s in self.pg_settings],
            "pg_hba_errors": [list(e) for e in self.pg_hba_errors],
            "pg_problem": self.pg_problem,
            "pg_files": dict(sorted(self.pg_files)),
            "pg_globs": {k: list(v) for k, v in sorted(self.pg_globs)},
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
            firewall_runtime_services=None
            if data.get("firewall_runtime_services") is None
            else tuple(sorted(data["firewall_runtime_services"])),
            failover_peer=data.get("failover_peer"),
            firewall_zone=data.get("firewall_zone"),
            firewall_zone_reason=data.get("firewall_zone_reason", ""),
            sshd_files=tuple(sorted(data.get("sshd_files", {}).items())),
            sshd_globs=tuple(sorted((k, tuple(v)) for k, v in data.get("sshd_globs", {}).items())),
            sshd_login=data.get("sshd_login"),
            sshd_effective=None
            if data.get("sshd_effective") is None
            else tuple(sorted(data["sshd_effective"].items())),
            sshd_problem=data.get("sshd_problem"),
            pg_settings=None
            if data.get("pg_settings") is None
            else tuple(PgSetting(*row) for row in data["pg_settings"]),
            pg_hba_errors=tuple((int(a), str(b)) for a, b in data.get("pg_hba_errors", ())),
            pg_problem=data.get("pg_problem"),
            pg_files=tuple(sorted(data.get("pg_files", {}).items())),
            pg_globs=tuple(sorted((k, tuple(v)) for k, v in data.get("pg_globs", {}).items())),
        )

    @property
    def fingerprint(self) -> str:
        canonical = json.dumps(self.as_data(), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
