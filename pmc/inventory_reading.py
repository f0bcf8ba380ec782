"""Reading the inventory's TOML tables into the model, leniently: a wrong type or an unknown
key becomes a :class:`~pmc.problems.Problem` with its line, not an exception, so that
:func:`pmc.validation.validate` can report every problem of the file at once. The keys each
table may hold are listed here (:data:`TOP_KEYS`, :data:`CLUSTER_KEYS`, :data:`SERVER_KEYS`,
:data:`SYNC_KEYS`); :mod:`pmc.inventory_file` reads and writes the file itself.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pmc.inventory import (
    Architecture,
    AuthMethod,
    Cluster,
    Inventory,
    Role,
    Server,
    SyncEngine,
    SyncSchedule,
)
from pmc.problems import Problem
from pmc.toml_lines import Key

FORMAT_VERSION = 1

_E = TypeVar("_E", Architecture, Role, AuthMethod, SyncEngine)

TOP_KEYS = ("version", "clusters")
CLUSTER_KEYS = ("name", "architecture", "servers", "sync", "active")
SYNC_KEYS = ("every_minutes", "on_drift", "check_minutes", "engine", "include_ts_outputs")
_SYNC_DEFAULTS = SyncSchedule()
SERVER_KEYS = (
    "name",
    "management_address",
    "redundancy_address",
    "role",
    "ssh_port",
    "ssh_user",
    "auth",
    "key_file",
    "layout",
)


@dataclass(frozen=True)
class ReadTables:
    """What :class:`Reader` made of a file's tables: the model, the document key of each
    cluster and server (in the model's order) and the problems met on the way."""

    inventory: Inventory
    cluster_keys: tuple[Key, ...]
    server_keys: tuple[tuple[Key, ...], ...]
    problems: tuple[Problem, ...]


class Reader:
    def __init__(self, path: Path, lines: dict[Key, int]) -> None:
        self.path = path
        self.lines = lines
        self.problems: list[Problem] = []

    def line_of(self, key: Key) -> int | None:
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return None

    def problem(
        self,
        message: str,
        key: Key,
        *,
        cluster: str | None = None,
        server: str | None = None,
        field_name: str | None = None,
    ) -> None:
        self.problems.append(
            Problem(
                message,
                path=str(self.path),
                line=self.line_of(key),
                cluster=cluster,
                server=server,
                field=field_name,
            )
        )

    def field_problem(
        self,
        message: str,
        table: Key,
        name: str,
        *,
        cluster: str | None = None,
        server: str | None = None,
    ) -> None:
        """A problem with the field ``name`` of the table at ``table``."""
        self.problem(message, (*table, name), cluster=cluster, server=server, field_name=name)

    def unknown_keys(
        self,
        table: Mapping[str, Any],
        known: tuple[str, ...],
        key: Key,
        what: str,
        *,
        cluster: str | None = None,
        server: str | None = None,
    ) -> None:
        for name in table:
            if name in known:
                continue
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(known)}"
            self.field_problem(
                f"unknown setting {name!r} in {what}{hint}",
                key,
                name,
                cluster=cluster,
                server=server,
            )

    def read(self, data: dict[str, Any]) -> ReadTables:
        self.unknown_keys(data, TOP_KEYS, (), "the inventory")
        version = data.get("version", FORMAT_VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.problem(f"version must be {FORMAT_VERSION}", ("version",), field_name="version")
        elif version > FORMAT_VERSION:
            self.problem(
                f"this inventory has format version {version}, written by a newer PMC; this"
                f" PMC reads version {FORMAT_VERSION}. Update PMC",
                ("version",),
                field_name="version",
            )
        raw_clusters = data.get("clusters", [])
        clusters: list[Cluster] = []
        cluster_keys: list[Key] = []
        server_keys: list[tuple[Key, ...]] = []
        if not isinstance(raw_clusters, list):
            self.problem(
                "clusters must be a list of [[clusters]] tables",
                ("clusters",),
                field_name="clusters",
            )
            raw_clusters = []
        for index, raw in enumerate(raw_clusters):
            key: Key = ("clusters", index)
            if not isinstance(raw, dict):
                self.problem("each cluster must be a [[clusters]] table", key)
                continue
            cluster, keys = self.read_cluster(raw, key)
            clusters.append(cluster)
            cluster_keys.append(key)
            server_keys.append(keys)
        return ReadTables(
            inventory=Inventory(tuple(clusters)),
            cluster_keys=tuple(cluster_keys),
            server_keys=tuple(server_keys),
            problems=tuple(self.problems),
        )

    def text(
        self,
        table: Mapping[str, Any],
        name: str,
        key: Key,
        default: str | None,
        *,
        cluster: str | None = None,
        server: str | None = None,
    ) -> str | None:
        value = table.get(name, default)
        if value is None or isinstance(value, str):
            return value
        self.field_problem(
            f"{name} must be text in quotes, not {_toml_type(value)}",
            key,
            name,
            cluster=cluster,
            server=server,
        )
        return default

    def choice(
        self,
        table: Mapping[str, Any],
        name: str,
        key: Key,
        enum: type[_E],
        default: _E,
        *,
        cluster: str | None = None,
        server: str | None = None,
    ) -> tuple[_E, bool]:
        """The enum value of ``name`` and whether it was valid."""
        value = table.get(name)
        if value is None:
            return default, True
        try:
            return enum(value), True
        except ValueError:
            choices = ", ".join(f'"{member.value}"' for member in enum)
            self.field_problem(
                f"{name} {_show(value)} is not one of {choices}",
                key,
                name,
                cluster=cluster,
                server=server,
            )
            return default, False

    def read_cluster(self, raw: dict[str, Any], key: Key) -> tuple[Cluster, tuple[Key, ...]]:
        name = self.text(raw, "name", key, "") or ""
        label = f"cluster {name!r}" if name else f"cluster #{_ordinal(key)}"
        self.unknown_keys(raw, CLUSTER_KEYS, key, label, cluster=name or None)
        architecture, _ = self.choice(
            raw, "architecture", key, Architecture, Architecture.COMBINED, cluster=name
        )
        raw_servers = raw.get("servers", [])
        servers: list[Server] = []
        keys: list[Key] = []
        if not isinstance(raw_servers, list):
            self.field_problem(
                f"servers of {label} must be [[clusters.servers]] tables",
                key,
                "servers",
                cluster=name,
            )
            raw_servers = []
        for index, raw_server in enumerate(raw_servers):
            server_key: Key = (*key, "servers", index)
            if not isinstance(raw_server, dict):
                self.problem(
                    f"each server of {label} must be a [[clusters.servers]] table",
                    server_key,
                    cluster=name,
                )
                continue
            servers.append(self.read_server(raw_server, server_key, name))
            keys.append(server_key)
        sync = None
        if "sync" in raw:
            sync = self.read_sync(raw["sync"], (*key, "sync"), name, label)
        active = self.text(raw, "active", key, None, cluster=name)
        cluster = Cluster(
            name=name, architecture=architecture, servers=tuple(servers), sync=sync, active=active
        )
        return cluster, tuple(keys)

    def read_sync(self, raw: object, key: Key, cluster: str, label: str) -> SyncSchedule | None:
        where = {"cluster": cluster or None}
        if not isinstance(raw, dict):
            self.problem(
                f"sync of {label} must be a [clusters.sync] table",
                key,
                field_name="sync",
                **where,
            )
            return None
        self.unknown_keys(raw, SYNC_KEYS, key, f"the sync schedule of {label}", **where)

        def number(name: str, default: float | None) -> float | None:
            value = raw.get(name)
            if value is None:
                return default
            if isinstance(value, int | float) and not isinstance(value, bool):
                if isinstance(value, float) or abs(value) < 2**53:
                    return value
                what = f"is a number too large to be minutes ({len(str(abs(value)))} digits)"
            else:
                what = f"must be a number of minutes, not {_toml_type(value)}"
            self.problem(
                f"sync.{name} {what}",
                (*key, name),
                field_name=f"sync.{name}",
                **where,
            )
            return default

        def flag(name: str) -> bool:
            value = raw.get(name, False)
            if isinstance(value, bool):
                return value
            self.problem(
                f"sync.{name} must be true or false, not {_toml_type(value)}",
                (*key, name),
                field_name=f"sync.{name}",
                **where,
            )
            return False

        engine, _ = self.choice(raw, "engine", key, SyncEngine, SyncEngine.DELTA, **where)
        return SyncSchedule(
            every_minutes=number("every_minutes", None),
            on_drift=flag("on_drift"),
            check_minutes=number("check_minutes", _SYNC_DEFAULTS.check_minutes)
            or _SYNC_DEFAULTS.check_minutes,
            engine=engine,
            include_ts_outputs=flag("include_ts_outputs"),
        )

    def read_server(self, raw: dict[str, Any], key: Key, cluster: str) -> Server:
        name = self.text(raw, "name", key, "", cluster=cluster) or ""
        label = f"server {name!r}" if name else f"server #{_ordinal(key)}"
        if cluster:
            label += f" of cluster {cluster!r}"
        where = {"cluster": cluster or None, "server": name or None}
        self.unknown_keys(raw, SERVER_KEYS, key, label, **where)
        role, _ = self.choice(raw, "role", key, Role, Role.MAIN, **where)
        auth, _ = self.choice(raw, "auth", key, AuthMethod, AuthMethod.PASSWORD, **where)
        port = raw.get("ssh_port", 22)
        if not isinstance(port, int) or isinstance(port, bool):
            self.field_problem(
                f"ssh_port must be a whole number (1–65535), not {_toml_type(port)}",
                key,
                "ssh_port",
                **where,
            )
            port = 22
        layout = raw.get("layout", {})
        if not isinstance(layout, dict):
            self.field_problem(
                "layout must be a [clusters.servers.layout] table of overrides",
                key,
                "layout",
                **where,
            )
            layout = {}
        return Server(
            name=name,
            management_address=self.text(raw, "management_address", key, "", **where) or "",
            redundancy_address=self.text(raw, "redundancy_address", key, None, **where),
            role=role,
            ssh_port=port,
            ssh_user=self.text(raw, "ssh_user", key, "root", **where) or "",
            auth=auth,
            key_file=self.text(raw, "key_file", key, None, **where),
            layout_overrides=dict(layout),
        )


def _ordinal(key: Key) -> int:
    last = key[-1]
    return last + 1 if isinstance(last, int) else 0


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def _show(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)
