"""The delta between two servers' tables, computed from hashes: pure data, no I/O.

Each server hashes its rows inside PostgreSQL (``md5`` of the row's text, keyed by the primary
key's text, see :mod:`pmc.sync.table_rows`); this module compares the two key → hash maps and
orders the work: deletes in reverse foreign-key order, then upserts in foreign-key order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pmc import catalog
from pmc.catalog import fk_order

Key = tuple[str, ...]
"""A row's primary key values, as PostgreSQL prints them (``::text``)."""

LOCAL_TABLES: frozenset[str] = catalog.REPLICATION_TABLES
"""Per-server tables never synchronised (each server's own copy config status)."""

TS_OUTPUTS_TABLES: frozenset[str] = catalog.TS_OUTPUTS_TABLES
"""Configured on each server separately (the seed: TS outputs are not replicated)."""


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: tuple[str, ...]
    primary_key: tuple[str, ...]  # empty: the table cannot be compared row by row


@dataclass(frozen=True)
class Schema:
    """The tables to synchronise, parents before children, and those left out (with why)."""

    tables: tuple[TableSchema, ...]
    skipped: tuple[tuple[str, str], ...] = ()

    def table(self, name: str) -> TableSchema:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables)


def build_schema(
    columns: Iterable[tuple[str, str]],
    primary_keys: Mapping[str, Sequence[str]],
    foreign_keys: Iterable[tuple[str, str]],
    *,
    include_ts_outputs: bool = False,
    only: Iterable[str] | None = None,
) -> Schema:
    """The synchronised tables from the catalog: ``columns`` are (table, column) in column
    order, ``foreign_keys`` (child, parent) pairs. Per-server tables and tables without a
    primary key are skipped with the reason."""
    cols: dict[str, list[str]] = {}
    for table, column in columns:
        cols.setdefault(table, []).append(column)
    wanted = set(only) if only is not None else None
    skipped: list[tuple[str, str]] = []
    names: list[str] = []
    for name in sorted(cols):
        if wanted is not None and name not in wanted:
            continue
        if name in LOCAL_TABLES:
            skipped.append((name, "belongs to each server (copy config status)"))
        elif name in TS_OUTPUTS_TABLES and not include_ts_outputs:
            skipped.append((name, "TS outputs are configured on each server separately"))
        elif not primary_keys.get(name):
            skipped.append((name, "has no primary key, so rows cannot be matched"))
        else:
            names.append(name)
    order, _cycles = fk_order(names, foreign_keys)
    tables = tuple(TableSchema(n, tuple(cols[n]), tuple(primary_keys[n])) for n in order)
    return Schema(tables, tuple(skipped))


class Differences:
    """What is only on the primary, only on the secondary, and on both but different."""

    only_primary: tuple[object, ...]
    only_secondary: tuple[object, ...]
    differing: tuple[object, ...]

    @property
    def changes(self) -> int:
        return len(self.only_primary) + len(self.only_secondary) + len(self.differing)

    @property
    def is_empty(self) -> bool:
        return self.changes == 0


@dataclass(frozen=True)
class TableDelta(Differences):
    """What differs in one table; keys sorted."""

    table: str
    only_primary: tuple[Key, ...] = ()  # to insert on the secondary
    only_secondary: tuple[Key, ...] = ()  # to delete from the secondary
    differing: tuple[Key, ...] = ()  # to update on the secondary

    @property
    def upserts(self) -> tuple[Key, ...]:
        return tuple(sorted(self.only_primary + self.differing))

    @property
    def deletes(self) -> tuple[Key, ...]:
        return self.only_secondary


def diff_hashes(table: str, primary: Mapping[Key, str], secondary: Mapping[Key, str]) -> TableDelta:
    """Compare two key → row-hash maps of ``table``."""
    only_p = sorted(k for k in primary if k not in secondary)
    only_s = sorted(k for k in secondary if k not in primary)
    differ = sorted(k for k, h in primary.items() if k in secondary and secondary[k] != h)
    return TableDelta(table, tuple(only_p), tuple(only_s), tuple(differ))


@dataclass(frozen=True)
class DatabaseDelta:
    """Every table's delta, in foreign-key order (parents first)."""

    tables: tuple[TableDelta, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    compared: tuple[str, ...] = ()  # every table compared, in order

    @property
    def changed(self) -> tuple[TableDelta, ...]:
        return tuple(t for t in self.tables if not t.is_empty)

    @property
    def is_empty(self) -> bool:
        return not self.changed

    @property
    def changes(self) -> int:
        return sum(t.changes for t in self.tables)

    def delete_order(self) -> tuple[TableDelta, ...]:
        """Tables with rows to delete, children first."""
        return tuple(t for t in reversed(self.tables) if t.deletes)

    def upsert_order(self) -> tuple[TableDelta, ...]:
        """Tables with rows to insert or update, parents first."""
        return tuple(t for t in self.tables if t.upserts)


@dataclass(frozen=True)
class FileEntry:
    size: int
    mtime: float
    sha256: str | None = None


@dataclass(frozen=True)
class FolderDelta(Differences):
    """One data folder (carousel, av, ts): relative paths, sorted."""

    folder: str  # its absolute path on the servers
    only_primary: tuple[str, ...] = ()
    only_secondary: tuple[str, ...] = ()
    differing: tuple[str, ...] = ()
    bytes_to_copy: int = 0

    @property
    def to_copy(self) -> tuple[str, ...]:
        return tuple(sorted(self.only_primary + self.differing))


def needs_hash(primary: Mapping[str, FileEntry], secondary: Mapping[str, FileEntry]) -> list[str]:
    """Paths whose size matches but mtime does not: only a hash can tell (rsync's quick
    check — same size and mtime counts as the same file)."""
    return sorted(
        p
        for p, e in primary.items()
        if p in secondary
        and secondary[p].size == e.size
        and int(secondary[p].mtime) != int(e.mtime)
    )


def _differs(entry: FileEntry, other: FileEntry) -> bool:
    if other.size != entry.size:
        return True
    if int(other.mtime) == int(entry.mtime):
        return False
    return entry.sha256 is None or other.sha256 is None or entry.sha256 != other.sha256


def diff_files(
    folder: str, primary: Mapping[str, FileEntry], secondary: Mapping[str, FileEntry]
) -> FolderDelta:
    """Compare two listings; entries that need it must carry their sha256 already."""
    only_p = sorted(p for p in primary if p not in secondary)
    only_s = sorted(p for p in secondary if p not in primary)
    differ: list[str] = []
    for path, entry in primary.items():
        other = secondary.get(path)
        if other is None:
            continue
        if _differs(entry, other):
            differ.append(path)
    differ.sort()
    size = sum(primary[p].size for p in only_p + differ)
    return FolderDelta(folder, tuple(only_p), tuple(only_s), tuple(differ), size)


@dataclass(frozen=True)
class SyncDelta:
    """Everything the delta engine would change on the secondary."""

    database: DatabaseDelta = field(default_factory=DatabaseDelta)
    folders: tuple[FolderDelta, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self.database.is_empty and all(f.is_empty for f in self.folders)

    def lines(self) -> list[str]:
        """Exactly the rows and files it would change, one per line (the dry run)."""
        out: list[str] = []
        for table in self.database.delete_order():
            out += [f"delete {table.table} {format_key(k)}" for k in table.deletes]
        for table in self.database.upsert_order():
            out += [f"insert {table.table} {format_key(k)}" for k in table.only_primary]
            out += [f"update {table.table} {format_key(k)}" for k in table.differing]
        for folder in self.folders:
            out += [f"delete file {folder.folder}/{p}" for p in folder.only_secondary]
            out += [f"copy file {folder.folder}/{p}" for p in folder.only_primary]
            out += [f"replace file {folder.folder}/{p}" for p in folder.differing]
        return out


def format_key(key: Key) -> str:
    return "(" + ", ".join(key) + ")"


def copy_escape(value: str) -> str:
    """``value`` as a field of PostgreSQL's COPY text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def keys_as_copy(keys: Iterable[Key]) -> bytes:
    """Keys as COPY text rows (to load into a temporary key table)."""
    return "".join("\t".join(copy_escape(v) for v in key) + "\n" for key in keys).encode()
