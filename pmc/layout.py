"""Where Playout keeps things: the paths, scripts, logs, ports and services of the seed.

Every default below is exactly what the vendor's redundancy manual names. A server in the
inventory may override any field (``[servers.layout]`` in the TOML file), for head-ends
installed elsewhere; :meth:`PlayoutLayout.with_overrides` validates such overrides.
"""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass
from typing import Any

from pmc.errors import InputError

_PATH_SUFFIXES = ("_dir", "_json", "_conf", "_log", "_script", "_keys", "_config")

# The folders the vendor manual's layout lives in. An overridden path must lie below one of
# them (or be the setting's own default): PMC acts on these paths as root — a sync removes
# files below a data folder, an import renames whole folders — so ``/``, ``/etc`` or ``/usr``
# must never be one.
PATH_ROOTS = ("/opt", "/var/log", "/etc/ssh", "/root/.ssh")
# PMC's own folder on the server (the cluster lock, :mod:`pmc.cluster_lock`), which a root
# process makes and opens to all: below /run (a tmpfs that a reboot empties) and nowhere else.
OWN_ROOTS: dict[str, str] = {"pmc_run_dir": "/run"}


@dataclass(frozen=True)
class PlayoutLayout:
    # Playout API (Web Console back end)
    api_config_dir: str = "/opt/playout/api/config"
    spoolers_json: str = "/opt/playout/api/config/spoolers.json"
    replicate_conf: str = "/opt/playout/api/config/replicate.conf"
    api_log: str = "/var/log/playout-api.log"
    api_service: str = "playout-api.service"
    api_port: int = 8081
    install_api_script: str = "/opt/playout/install-api.sh"

    # PostgreSQL, as installed by Playout
    db_dir: str = "/opt/playout/db"
    pg_hba_conf: str = "/opt/playout/db/pg_hba.conf"
    postgresql_conf: str = "/opt/playout/db/postgresql.conf"
    postgresql_service: str = "postgresql"
    database: str = "playout"
    database_user: str = "postgres"
    postgresql_port: int = 5432

    # Playout's scripts
    bin_dir: str = "/opt/playout/bin"
    copy_config_script: str = "/opt/playout/bin/copy_config.sh"
    check_failover_script: str = "/opt/playout/bin/check_failover.sh"
    check_peer_status_script: str = "/opt/playout/bin/check_peer_status.sh"
    replication_started_script: str = "/opt/playout/bin/replication_started.sh"
    replication_stopped_script: str = "/opt/playout/bin/replication_stopped.sh"
    setup_firewall_script: str = "/opt/playout/bin/setup-firewall.sh"
    copy_config_log: str = "/var/log/playout-copy-config.log"

    # Data that copy config moves besides the database (the seed names carousel, av and ts
    # files; the folders are this layout's choice and can be overridden per server).
    carousel_dir: str = "/opt/playout/data/carousel"
    av_dir: str = "/opt/playout/data/av"
    ts_dir: str = "/opt/playout/data/ts"

    # SSH
    sshd_config: str = "/etc/ssh/sshd_config"
    sshd_service: str = "sshd"
    root_ssh_dir: str = "/root/.ssh"
    authorized_keys: str = "/root/.ssh/authorized_keys"
    ssh_port: int = 22

    # PMC's own: the cluster lock (pmc.cluster_lock) lives here, on a tmpfs that a reboot
    # empties, as a lock must be
    pmc_run_dir: str = "/run/pmc"
    # PMC's audit log on the server (pmc.audit_log): every change PMC makes there, one JSON
    # line each, whichever desktop made it
    audit_log: str = "/var/log/pmc/audit.jsonl"

    # Firewall
    firewall_service: str = "firewalld"
    firewall_zone: str = "public"

    # The cluster diagram's other ports (Playout Control Protocol daemons, web, SNMP)
    http_port: int = 80
    scheduler_port: int = 2001
    eit_update_port: int = 5000
    admin_port: int = 5555
    snmp_port: int = 161
    snmp_trap_port: int = 162

    @property
    def data_dirs(self) -> dict[str, str]:
        """The data folders copy config moves, by the seed's names."""
        return {"carousel": self.carousel_dir, "av": self.av_dir, "ts": self.ts_dir}

    def with_overrides(self, overrides: dict[str, Any], *, where: str = "layout") -> PlayoutLayout:
        """A copy with ``overrides`` applied; unknown names and wrong types are refused."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        clean: dict[str, Any] = {}
        for name, value in overrides.items():
            field = fields.get(name)
            if field is None:
                known = ", ".join(sorted(fields))
                raise InputError(
                    f"unknown layout setting {name!r}", where=where, hint=f"Known settings: {known}"
                )
            if field.type == "int":
                if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
                    raise InputError(f"{name} must be a port number 1–65535", where=where)
            elif not isinstance(value, str) or not value:
                raise InputError(f"{name} must be a non-empty text", where=where)
            elif name.endswith(_PATH_SUFFIXES):
                _check_path(name, value, field.default, where)
            clean[name] = value
        return dataclasses.replace(self, **clean)


def _check_path(name: str, value: str, default: object, where: str) -> None:
    if not posixpath.isabs(value) or "\x00" in value or "\n" in value:
        raise InputError(f"{name} must be an absolute path on the server", where=where)
    if posixpath.normpath(value) != value:
        raise InputError(
            f"{name} {value!r} is not a plain path",
            where=where,
            hint=f"Write it without '..', '.', doubled or trailing slashes: "
            f"{posixpath.normpath(value)!r}",
        )
    own = OWN_ROOTS.get(name)
    if own is not None:
        if value != default and not value.startswith(own + "/"):
            raise InputError(
                f"{name} {value!r} is outside {own}",
                where=where,
                hint=f"Give a folder below {own}: PMC's cluster lock lives there, on a tmpfs "
                "that a reboot empties, in a folder PMC makes as root",
            )
    elif value != default and not any(value.startswith(root + "/") for root in PATH_ROOTS):
        raise InputError(
            f"{name} {value!r} is outside the folders of Playout's layout",
            where=where,
            hint=f"Give a folder below {', '.join(PATH_ROOTS[:-1])} or {PATH_ROOTS[-1]}, as "
            "in the vendor's manual: PMC changes and removes files there as root",
        )


DEFAULT_LAYOUT = PlayoutLayout()
