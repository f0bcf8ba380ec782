"""Writing the model into the inventory's TOML document, changing as little of its text as
possible: tables are matched by name, only changed values are rewritten, so that the
operator's comments and ordering survive (:func:`render_into`, used by
:func:`pmc.inventory_file.save_inventory`).
"""

from __future__ import annotations

from typing import Any, TypeVar

import tomlkit
from tomlkit.items import AoT, Comment, Table, Whitespace
from tomlkit.toml_document import TOMLDocument

from pmc.inventory import AuthMethod, Cluster, Inventory, Role, Server, SyncEngine, SyncSchedule
from pmc.inventory_reading import FORMAT_VERSION

_Named = TypeVar("_Named", Cluster, Server)
_SYNC_DEFAULTS = SyncSchedule()


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
    """Make ``array``'s tables describe ``wanted``: each item's table is the one with its
    name, else the unmatched table at its place (the item renamed: its comments stay), else a
    new table at its place; tables left over are deleted (a comment at their end is kept)."""
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
    wanted_names = {item.name for item in wanted}
    for place, (table, item) in enumerate(pending):
        renamed = (
            table is None
            and place < len(tables)
            and place not in used
            and tables[place].get("name") not in wanted_names
        )
        if renamed:
            used.add(place)
            pending[place] = (tables[place], item)
    for index in sorted(set(range(len(tables))) - used, reverse=True):
        trailing = _trailing_comments(tables[index])
        del array[index]
        if index > 0:
            for comment in trailing:
                array.body[index - 1].add(comment)
    for place, (table, item) in enumerate(pending):
        if table is not None:
            sync(table, item)
            continue
        new_table = tomlkit.table()
        sync(new_table, item)
        if place < len(array.body):
            _end_with_blank_line(new_table)
            array.insert(place, new_table)
        else:
            if len(array.body):
                _end_with_blank_line(array.body[-1])
            array.append(new_table)


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
    _set(table, "active", cluster.active)


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


def _sub_table(parent: Table, key: str, *, wanted: bool) -> Table | None:
    """``parent``'s ``[…key]`` table, made if it is ``wanted`` and missing; removed (the comments
    that trail it kept in ``parent``) and None when it is not wanted."""
    table = parent.get(key)
    if not wanted:
        if table is not None:
            trailing = _trailing_comments(table) if isinstance(table, Table) else []
            del parent[key]
            for item in trailing:
                parent.add(item)
        return None
    if not isinstance(table, Table):
        if table is not None:
            del parent[key]
        table = tomlkit.table()
        parent.append(key, table)
    return table


def _sync_schedule(cluster_table: Table, schedule: SyncSchedule | None) -> None:
    """The cluster's ``[clusters.sync]`` table: written, updated in place, or removed."""
    table = _sub_table(cluster_table, "sync", wanted=schedule is not None)
    if table is None or schedule is None:
        return
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
    layout = _sub_table(table, "layout", wanted=bool(server.layout_overrides))
    if layout is None:
        return
    for name in [name for name in layout if name not in server.layout_overrides]:
        del layout[name]
    for name, value in server.layout_overrides.items():
        _set(layout, name, value)
