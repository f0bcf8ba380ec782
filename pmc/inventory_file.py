"""The inventory file: human-readable TOML that PMC reads and writes without losing comments.

::

    version = 1

    [[clusters]]
    name = "studio"
    architecture = "combined"      # see pmc.inventory.Architecture

    [[clusters.servers]]
    name = "main"
    management_address = "192.168.1.105"   # eth3
    redundancy_address = "172.17.59.128"   # eth2
    role = "main"
    ssh_port = 22
    ssh_user = "root"
    auth = "password"                      # password | key | agent
    # key_file = "~/.ssh/id_ed25519"       # with auth = "key"

    [clusters.servers.layout]              # optional overrides of pmc.layout.PlayoutLayout
    api_port = 8081

    [clusters.sync]                        # optional: PMC synchronises the backup by itself
    every_minutes = 15                     # a sync this often
    on_drift = true                        # and when drift is found,
    check_minutes = 5                      # looked for this often
    engine = "delta"                       # delta | playout
    include_ts_outputs = false

:func:`load_inventory` reads leniently: a wrong type or an unknown key becomes a
:class:`~pmc.validation.Problem` with its line, not an exception, so that
:func:`pmc.validation.validate` can report every problem of the file at once. Only a file that
is not TOML at all raises (:class:`~pmc.errors.ConfigSyntaxError`, with line and column).

:func:`save_inventory` merges the model into the file that is already there: tables are matched
by name, only changed values are rewritten, so the operator's comments and ordering survive.
It writes atomically (temporary file, fsync, rename).
"""

from __future__ import annotations

import contextlib
import difflib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import tomlkit
import tomlkit.exceptions
from tomlkit.items import AoT, Comment, Table, Whitespace
from tomlkit.toml_document import TOMLDocument

from pmc.errors import ConfigSyntaxError, InputError
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
from pmc.toml_lines import Key, scan_lines
from pmc.validation import Problem

FORMAT_VERSION = 1

_E = TypeVar("_E", Architecture, Role, AuthMethod, SyncEngine)
_Named = TypeVar("_Named", Cluster, Server)


TOP_KEYS = ("version", "clusters")
CLUSTER_KEYS = ("name", "architecture", "servers", "sync")
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

_NEW_FILE_HEADER = (
    "PMC inventory: clusters of Playout servers. Edit freely; comments are kept.",
    "Passwords and key passphrases are never stored here, only in the OS keyring.",
)


@dataclass(frozen=True)
class LoadedInventory:
    """An inventory as read from ``path``, with the line of every value."""

    path: Path
    inventory: Inventory
    lines: Mapping[Key, int] = field(default_factory=dict)
    cluster_keys: tuple[Key, ...] = ()
    """The document key of each cluster of :attr:`inventory`, in the same order."""
    server_keys: tuple[tuple[Key, ...], ...] = ()
    """The document keys of the servers of each cluster, in the same order."""
    problems: tuple[Problem, ...] = ()
    """What was wrong while reading: unknown keys, wrong types, unknown names."""
    exists: bool = True

    def line_of(self, key: Key) -> int | None:
        """The line of ``key``, or of the closest enclosing table that has one."""
        while key:
            line = self.lines.get(key)
            if line is not None:
                return line
            key = key[:-1]
        return None

    def cluster_line(self, cluster_index: int, name: str | None = None) -> int | None:
        key = self.cluster_keys[cluster_index]
        return self.line_of((*key, name) if name else key)

    def server_line(
        self, cluster_index: int, server_index: int, name: str | None = None
    ) -> int | None:
        key = self.server_keys[cluster_index][server_index]
        return self.line_of((*key, name) if name else key)


# --------------------------------------------------------------------------------- reading


def load_inventory(path: Path | str, *, missing_ok: bool = False) -> LoadedInventory:
    """Read the inventory at ``path``.

    A missing file is an :class:`InputError` unless ``missing_ok`` (then the inventory is
    empty and ``exists`` is False). Raises :class:`ConfigSyntaxError` if it is not TOML.
    """
    path = Path(path)
    try:
        text, _ = _read_text(path)
    except FileNotFoundError:
        if missing_ok:
            return LoadedInventory(path=path, inventory=Inventory(), exists=False)
        raise InputError(
            "the inventory file does not exist",
            where=str(path),
            hint="Check the name, or add a server with `pmc inventory add-server`.",
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigSyntaxError(
            f"the inventory is not UTF-8 text ({exc.reason})",
            path=str(path),
            hint="Save the file as UTF-8.",
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot read the inventory: {exc.strerror or exc}", where=str(path)
        ) from None
    return parse_inventory(text, path)


def _read_text(path: Path) -> tuple[str, bool]:
    """The file's text with its line endings as they are, and whether it had a UTF-8 BOM."""
    data = path.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    return data.decode("utf-8-sig" if bom else "utf-8"), bom


def parse_inventory(text: str, path: Path | str = "<inventory>") -> LoadedInventory:
    """Parse inventory ``text``; ``path`` only names it in messages."""
    path = Path(path)
    document = _parse_document(text, path)
    return _Reader(path, scan_lines(text)).read(document.unwrap())


def _parse_document(text: str, path: Path) -> TOMLDocument:
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        message = str(exc)
        # tomlkit appends " at line L col C"; the position goes into the error's place instead.
        message = message.rsplit(" at line ", 1)[0]
        raise ConfigSyntaxError(
            f"the inventory is not valid TOML: {message}",
            path=str(path),
            line=exc.line,
            column=exc.col + 1,
            hint="Fix the file (or restore a backup) and try again; nothing was changed.",
        ) from None
    except tomlkit.exceptions.TOMLKitError as exc:
        raise ConfigSyntaxError(
            f"the inventory is not valid TOML: {exc}",
            path=str(path),
            hint="Fix the file and try again; nothing was changed.",
        ) from None


class _Reader:
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
            self.problem(
                f"unknown setting {name!r} in {what}{hint}",
                (*key, name),
                cluster=cluster,
                server=server,
                field_name=name,
            )

    def read(self, data: dict[str, Any]) -> LoadedInventory:
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
        return LoadedInventory(
            path=self.path,
            inventory=Inventory(tuple(clusters)),
            lines=self.lines,
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
        self.problem(
            f"{name} must be text in quotes, not {_toml_type(value)}",
            (*key, name),
            cluster=cluster,
            server=server,
            field_name=name,
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
            self.problem(
                f"{name} {_show(value)} is not one of {choices}",
                (*key, name),
                cluster=cluster,
                server=server,
                field_name=name,
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
            self.problem(
                f"servers of {label} must be [[clusters.servers]] tables",
                (*key, "servers"),
                cluster=name,
                field_name="servers",
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
        cluster = Cluster(name=name, architecture=architecture, servers=tuple(servers), sync=sync)
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
                return value
            self.problem(
                f"sync.{name} must be a number of minutes, not {_toml_type(value)}",
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
            self.problem(
                f"ssh_port must be a whole number (1–65535), not {_toml_type(port)}",
                (*key, "ssh_port"),
                field_name="ssh_port",
                **where,
            )
            port = 22
        layout = raw.get("layout", {})
        if not isinstance(layout, dict):
            self.problem(
                "layout must be a [clusters.servers.layout] table of overrides",
                (*key, "layout"),
                field_name="layout",
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


# --------------------------------------------------------------------------------- writing


def save_inventory(inventory: Inventory, path: Path | str) -> None:
    """Write ``inventory`` to ``path``, atomically, keeping the comments already there.

    Clusters and servers are matched to the file's tables by name; values that did not change
    keep their text, comments and position. Creates the parent folder if needed. If the file
    that is there cannot be parsed, raises :class:`ConfigSyntaxError` and writes nothing.
    """
    path = Path(path)
    bom = False
    try:
        existing, bom = _read_text(path)
    except FileNotFoundError:
        existing = None
    except UnicodeDecodeError as exc:
        raise ConfigSyntaxError(
            f"the inventory is not UTF-8 text ({exc.reason}); nothing was written",
            path=str(path),
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot read the inventory: {exc.strerror or exc}", where=str(path)
        ) from None
    if existing is None:
        document = tomlkit.document()
        for line in _NEW_FILE_HEADER:
            document.add(tomlkit.comment(line))
        document.add(tomlkit.nl())
    else:
        document = _parse_document(existing, path)
    render_into(document, inventory)
    text = document.as_string()
    reread = parse_inventory(text, path)
    if reread.inventory != inventory:  # pragma: no cover - guards against a tomlkit surprise
        raise InputError(
            "PMC could not represent this inventory in the file faithfully; nothing was written",
            where=str(path),
            hint="Please report this with the file attached.",
        )
    atomic_write_text(path, "\ufeff" + text if bom else text)


def render_into(document: TOMLDocument, inventory: Inventory) -> None:
    """Make ``document`` describe ``inventory``, changing as little of its text as possible."""
    if document.get("version") != FORMAT_VERSION:
        document["version"] = FORMAT_VERSION
    clusters = document.get("clusters")
    if not isinstance(clusters, AoT):
        if "clusters" in document:
            del document["clusters"]
        clusters = tomlkit.aot()
        document.append("clusters", clusters)
    _sync_array(clusters, inventory.clusters, _sync_cluster)


def _sync_array(array: AoT, wanted: tuple[_Named, ...], sync: Any) -> None:
    tables: list[Table] = list(array.body)
    used: set[int] = set()
    pending: list[tuple[Table | None, _Named]] = []
    for item in wanted:
        match = next(
            (
                index
                for index, table in enumerate(tables)
                if index not in used and table.get("name") == item.name
            ),
            None,
        )
        if match is not None:
            used.add(match)
        pending.append((tables[match] if match is not None else None, item))
    for index in sorted(set(range(len(tables))) - used, reverse=True):
        trailing = _trailing_comments(tables[index])
        del array[index]
        if index > 0:
            for comment in trailing:
                array.body[index - 1].add(comment)
    for table, item in pending:
        if table is None:
            if len(array.body):
                _end_with_blank_line(array.body[-1])
            new_table = tomlkit.table()
            sync(new_table, item)
            array.append(new_table)
        else:
            sync(table, item)


def _trailing_comments(table: Table) -> list[Comment | Whitespace]:
    """The comments (and blank lines) at the end of ``table``'s text.

    TOML has no notion of a comment's owner; tomlkit gives the comment above a table header to
    the table before it. When that table is deleted, the comment is kept (it usually speaks
    of what follows).
    """
    body = table.value.body
    if body and isinstance(body[-1][1], Table):
        return _trailing_comments(body[-1][1])
    items: list[Comment | Whitespace] = []
    for key, item in reversed(body):
        if key is not None or not isinstance(item, Comment | Whitespace):
            break
        items.append(item)
    items.reverse()
    if not any(isinstance(item, Comment) for item in items):
        return []
    return items


def _end_with_blank_line(table: Table) -> None:
    if not table.as_string().endswith("\n\n"):
        table.add(tomlkit.nl())


def _set(
    table: Table, key: str, value: str | float | None, default: str | float | None = None
) -> None:
    """Set ``key`` if its value differs; an absent key that would be ``default`` stays absent."""
    if value is None:
        if key in table:
            del table[key]
        return
    if key not in table and value == default:
        return
    if table.get(key) != value or type(table.get(key)) is bool:
        table[key] = value


def _sync_cluster(table: Table, cluster: Cluster) -> None:
    new = len(table) == 0  # a new table spells out every setting, for the operator to see
    _set(table, "name", cluster.name)
    _set(table, "architecture", cluster.architecture.value, None if new else "combined")
    servers = table.get("servers")
    if not isinstance(servers, AoT):
        if "servers" in table:
            del table["servers"]
        servers = tomlkit.aot()
        if new:
            table.add(tomlkit.nl())
        table.append("servers", servers)
    _sync_array(servers, cluster.servers, _sync_server)
    _sync_schedule(table, cluster.sync)


def _number(value: float) -> int | float:
    """Whole minutes are written as ``15``, not ``15.0``."""
    return int(value) if float(value).is_integer() else value


def _set_flag(table: Table, key: str, value: bool, *, spell_out: bool) -> None:
    current = table.get(key)
    if isinstance(current, bool) and current == value:
        return
    if current is None and not value and not spell_out:
        return
    table[key] = value


def _sync_schedule(cluster_table: Table, schedule: SyncSchedule | None) -> None:
    """The cluster's ``[clusters.sync]`` table: written, updated in place, or removed."""
    table = cluster_table.get("sync")
    if schedule is None:
        if table is not None:
            trailing = _trailing_comments(table) if isinstance(table, Table) else []
            del cluster_table["sync"]
            for item in trailing:
                cluster_table.add(item)
        return
    if not isinstance(table, Table):
        if table is not None:
            del cluster_table["sync"]
        table = tomlkit.table()
        cluster_table.append("sync", table)
    new = len(table) == 0
    every = schedule.every_minutes
    _set(table, "every_minutes", None if every is None else _number(every))
    _set_flag(table, "on_drift", schedule.on_drift, spell_out=new)
    check = _number(schedule.check_minutes)
    if check != table.get("check_minutes"):
        default = None if new and schedule.on_drift else _number(_SYNC_DEFAULTS.check_minutes)
        _set(table, "check_minutes", check, default)
    _set(table, "engine", schedule.engine.value, None if new else SyncEngine.DELTA.value)
    _set_flag(table, "include_ts_outputs", schedule.include_ts_outputs, spell_out=False)


def _sync_server(table: Table, server: Server) -> None:
    new = len(table) == 0
    _set(table, "name", server.name)
    _set(table, "management_address", server.management_address)
    _set(table, "redundancy_address", server.redundancy_address)
    _set(table, "role", server.role.value, None if new else Role.MAIN.value)
    _set(table, "ssh_port", server.ssh_port, None if new else 22)
    _set(table, "ssh_user", server.ssh_user, None if new else "root")
    _set(table, "auth", server.auth.value, None if new else AuthMethod.PASSWORD.value)
    _set(table, "key_file", server.key_file)
    layout = table.get("layout")
    if not server.layout_overrides:
        if layout is not None:
            trailing = _trailing_comments(layout) if isinstance(layout, Table) else []
            del table["layout"]
            for item in trailing:
                table.add(item)
        return
    if not isinstance(layout, Table):
        if layout is not None:
            del table["layout"]
        layout = tomlkit.table()
        table.append("layout", layout)
    for name in [name for name in layout if name not in server.layout_overrides]:
        del layout[name]
    for name, value in server.layout_overrides.items():
        _set(layout, name, value)


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) so that readers see the old or the new file,
    never a half-written one, even after a crash: temporary file, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    if os.name == "posix":
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
