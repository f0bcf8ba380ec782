"""Checks and plans of an import, made before anything on the target changes."""

from __future__ import annotations

import posixpath
from typing import Literal, get_args

from pmc.bundle.adapt import Peer, adapt
from pmc.bundle.errors import BundleOperationFailed, NewerSchema, NotABundle, NotEnoughSpace
from pmc.bundle.manifest import CONFIG_FILES, PART_CONFIG, PART_DATA, Manifest, TableSpec
from pmc.bundle.preview import Scan
from pmc.bundle.progress import human_bytes
from pmc.bundle.schema import version_tuple
from pmc.catalog import PART_DATABASE, PART_EPG, Catalog
from pmc.errors import PmcError
from pmc.layout import PlayoutLayout
from pmc.remote import services
from pmc.remote.connection import Connection

# The Playout Control Protocol daemons (TCP 2001, 5000, 5555; PLAYOUT-FACTS.md)
PLAYOUT_DAEMONS = ("playout-scheduler", "eit-update", "playout-admin")

AddressPolicy = Literal["keep", "adapt"]
"""What an import does to the target's own addresses in spoolers.json and replicate.conf:
keep the target's, or adapt the bundle's to them."""
ADDRESS_POLICIES: tuple[AddressPolicy, ...] = get_args(AddressPolicy)


def services_to_restart(layout: PlayoutLayout, parts: tuple[str, ...]) -> list[tuple[str, str]]:
    """(unit, why) for every service the imported ``parts`` affect, each once, in order."""
    found: dict[str, str] = {}
    database = PART_DATABASE in parts or PART_EPG in parts
    if PART_CONFIG in parts:
        found[layout.api_service] = "reads spoolers.json and replicate.conf"
    elif database:
        found[layout.api_service] = "serves the configuration database to the Web Console"
    if database:
        for unit in PLAYOUT_DAEMONS:
            found[unit] = "reads the configuration database" + (
                " and the EPG" if unit == "eit-update" and PART_EPG in parts else ""
            )
    if PART_DATA in parts:
        found.setdefault("playout-scheduler", "plays out the carousel, av and ts files")
    return list(found.items())


def config_path(layout: PlayoutLayout, name: str) -> str:
    """Where the config file ``name`` (one of :data:`CONFIG_FILES`) is on the target."""
    return layout.spoolers_json if name == "spoolers.json" else layout.replicate_conf


def data_folders(scan: Scan, layout: PlayoutLayout) -> dict[str, str]:
    """The target's data folders (key: path) that the bundle has a folder or file for."""
    return {
        key: path
        for key, path in layout.data_dirs.items()
        if f"data/{key}" in scan.dirs or any(n.startswith(f"data/{key}/") for n in scan.files)
    }


SPACE_MARGIN = 1.1  # what a job stages on a filesystem, times this…
SPACE_RESERVE = 64 << 20  # …plus this, must be free there


def chosen_parts(manifest: Manifest, wanted: tuple[str, ...] | None) -> tuple[str, ...]:
    if wanted is None:
        return manifest.parts
    missing = [p for p in wanted if p not in manifest.parts]
    if missing:
        raise BundleOperationFailed(
            f"the bundle has no {', '.join(missing)} part (it has {', '.join(manifest.parts)})",
            hint="Choose parts the bundle holds. Nothing was changed on any server.",
        )
    return tuple(p for p in manifest.parts if p in wanted)


def check_schema(
    manifest: Manifest, parts: tuple[str, ...], catalog: Catalog, target_version: str, where: str
) -> list[TableSpec]:
    """The bundle's tables to load; :class:`NewerSchema` if the target cannot take them."""
    ours = version_tuple(manifest.source.playout_version)
    theirs = version_tuple(target_version)
    if ours and theirs and ours > theirs:
        raise NewerSchema(
            f"the bundle comes from Playout {manifest.source.playout_version}, newer than the "
            f"target's {target_version}",
            where=where,
            hint="Update Playout on the target first. Nothing was changed on any server.",
        )
    tables = [t for t in manifest.tables if t.part in parts]
    check_columns(tables, catalog, where)
    return tables


def check_columns(tables: list[TableSpec], catalog: Catalog, where: str) -> None:
    """:class:`NewerSchema` unless every table and column of ``tables`` is in ``catalog``
    with the same SQL type (checked before the import, and again before its tables swap)."""
    if len({t.name for t in tables}) != len(tables):
        raise NotABundle("the bundle's manifest lists a table twice", where=where)
    for spec in tables:
        if len({c for c, _ in spec.columns}) != len(spec.columns):
            raise NotABundle(
                f"the bundle's manifest lists a column of table {spec.name} twice", where=where
            )
        have = catalog.tables.get(spec.name)
        if have is None:
            raise NewerSchema(
                f"the bundle's table {spec.name!r} does not exist on the target: the bundle "
                "comes from a newer Playout schema",
                where=where,
                hint="Update Playout on the target first. Nothing was changed on any server.",
            )
        target_cols = dict(have.columns)
        for column, sqltype in spec.columns:
            if column not in target_cols:
                raise NewerSchema(
                    f"column {spec.name}.{column} of the bundle does not exist on the target: "
                    "the bundle comes from a newer Playout schema",
                    where=where,
                    hint="Update Playout on the target first. Nothing was changed on any server.",
                )
            if target_cols[column] != sqltype:
                raise NewerSchema(
                    f"column {spec.name}.{column} is {sqltype} in the bundle but "
                    f"{target_cols[column]} on the target (a different Playout schema)",
                    where=where,
                    hint="Use a bundle from the same Playout version. Nothing was changed.",
                )


def plan_config(
    scan: Scan, connection: Connection, policy: AddressPolicy
) -> tuple[dict[str, bytes], dict[str, str]]:
    """What to write for each config file, and what the operator is told about it."""
    server = connection.server
    source = scan.manifest.source
    same = source.address == server.management_address
    writes: dict[str, bytes] = {}
    actions: dict[str, str] = {}
    theirs = Peer(source.server, source.address, source.redundancy_address)
    ours = Peer(server.name, server.management_address, server.redundancy_address or "")
    for name in CONFIG_FILES:
        data = scan.small.get(f"config/{name}")
        if data is None:
            actions[name] = "not in the bundle; the target's file is kept"
            continue
        if same or policy == "adapt":
            try:  # read by its codec even when restored as it is: the API must start on it
                adapted = adapt(name, data, theirs, theirs if same else ours)
            except PmcError as exc:
                raise BundleOperationFailed(
                    f"the bundle's {name} cannot be "
                    f"{'restored' if same else 'adapted'} on {server.name}: {exc}",
                    where=str(scan.path),
                    hint="Import without the API config part, or keep the target's own "
                    "addresses. Nothing was changed.",
                ) from exc
            if same:
                writes[name] = data
                actions[name] = "restored from the bundle (same server)"
                continue
            writes[name] = adapted
            actions[name] = (
                f"adapted: {source.server}'s addresses exchanged with {server.name}'s "
                f"({server.name} in {source.server}'s place)"
            )
        else:
            actions[name] = (
                f"skipped: it names the addresses of {source.server} ({source.address}); "
                f"{server.name} keeps its own"
            )
    return writes, actions


async def check_space(
    connection: Connection, scan: Scan, parts: tuple[str, ...], tables: list[TableSpec]
) -> None:
    """Refuse an import whose work does not fit, counted for the whole job on each filesystem
    of the target (``df`` of each path, grouped by mount point): the data folders staged beside
    the old ones, the tables loaded while the old rows still exist, the config files with their
    backups; each filesystem with a margin (:data:`SPACE_MARGIN`, :data:`SPACE_RESERVE`)."""
    layout = connection.server.layout
    need: dict[str, int] = {}

    def add(path: str, size: int) -> None:
        need[path] = need.get(path, 0) + size

    if PART_DATA in parts:
        for name, (size, _) in scan.files.items():
            add(layout.data_dirs[name.split("/")[1]], size)
    for spec in tables:
        member = scan.checksums.members.get(f"db/{spec.name}.copy")
        add(layout.db_dir, member.size if member else 0)
    if PART_CONFIG in parts:
        for name in CONFIG_FILES:
            data = scan.small.get(f"config/{name}")
            if data is not None:
                add(
                    posixpath.dirname(config_path(layout, name)), 2 * len(data)
                )  # the new file and the backup
    if not need:
        return
    found = await services.filesystems(connection, list(need))
    mounts: dict[str, list[str]] = {}
    for path in need:
        mounts.setdefault(found[path].mount, []).append(path)
    for mount, paths in mounts.items():
        total = sum(need[p] for p in paths)
        wanted = int(total * SPACE_MARGIN) + SPACE_RESERVE
        free = found[paths[0]].free
        if wanted > free:
            parts_text = ", ".join(f"{human_bytes(need[p])} in {p}" for p in paths)
            raise NotEnoughSpace(
                f"the import needs {human_bytes(wanted)} on the target's filesystem {mount} "
                f"({parts_text}, with a margin of {SPACE_MARGIN - 1:.0%} + "
                f"{human_bytes(SPACE_RESERVE)}) but only {human_bytes(free)} are free on the "
                "target there (the new files are staged beside the old ones before the switch)",
                where=connection.label,
                hint="Free space on the target or import fewer parts. Nothing was changed on "
                "any server.",
            )
