"""What a Playout ``playout`` database holds, read from PostgreSQL's own catalog.

One query (:data:`CATALOG_SQL`) returns every table of schema ``public`` with its columns
(and their SQL types), its primary key and its foreign keys; :func:`parse_catalog` turns the
rows into a :class:`Catalog`: the tables in foreign-key order (parents before children, the
tables caught in a cycle last), which of them belong to each server, which are the EPG, and
:func:`part_of` for the split that bundles, sync and setup verify all make:

- ``database``: the configuration tables (services, networks, carousels, playlists, …);
- ``epg``: the EPG (tables named ``eit_event…``), carried only when asked for;
- ``None``: per-server tables that are never copied from another server: the replication
  status, and the TS outputs (Playout configures Transport Stream outputs on each server
  separately; the sync engine can include them on request).

The same rows come from ``psql -At -F '\\t'`` over SSH (:func:`read_catalog`, what bundles
and setup verify use) and from a psycopg cursor (the sync engine), so every caller sees the
same catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from psycopg import sql

from pmc.layout import PlayoutLayout
from pmc.remote.commands import run
from pmc.remote.connection import Connection

PART_DATABASE = "database"  # configuration tables
PART_EPG = "epg"  # EPG tables (eit_event…)

REPLICATION_TABLES = frozenset({"replication_status"})  # copy config's own status, per server
TS_OUTPUTS_TABLES = frozenset({"ts_outputs"})  # configured on each server separately
PER_SERVER_TABLES = REPLICATION_TABLES | TS_OUTPUTS_TABLES
EPG_PREFIX = "eit_event"

# One row per fact, first field its kind:
#   c  table  column  type            (columns, in column order)
#   p  table  col1,col2,…             (primary key, in key order)
#   f  child  parent  col1,…  pcol1,… (foreign keys)
CATALOG_SQL = """
SELECT 'c', c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), ''
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0
  AND NOT a.attisdropped AND a.attgenerated = ''
UNION ALL
SELECT 'p', c.relname::text,
  (SELECT string_agg(a.attname, ',' ORDER BY u.ord)
   FROM unnest(k.conkey) WITH ORDINALITY u(n, ord)
   JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n), '', ''
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype = 'p' AND n.nspname = 'public'
UNION ALL
SELECT 'f', child.relname::text, parent.relname::text,
  (SELECT string_agg(a.attname, ',' ORDER BY u.ord)
   FROM unnest(k.conkey) WITH ORDINALITY u(n, ord)
   JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n),
  (SELECT string_agg(a.attname, ',' ORDER BY u.ord)
   FROM unnest(k.confkey) WITH ORDINALITY u(n, ord)
   JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n)
FROM pg_constraint k
JOIN pg_class child ON child.oid = k.conrelid
JOIN pg_class parent ON parent.oid = k.confrelid
JOIN pg_namespace n ON n.oid = child.relnamespace
WHERE k.contype = 'f' AND n.nspname = 'public'
"""


def is_epg(table: str) -> bool:
    return table.startswith(EPG_PREFIX)


def part_of(table: str) -> str | None:
    """``database``, ``epg``, or None for a per-server table that is never copied."""
    if table in PER_SERVER_TABLES:
        return None
    if is_epg(table):
        return PART_EPG
    return PART_DATABASE


def fk_order(
    tables: Iterable[str], edges: Iterable[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """Tables with every parent before its children, and the tables left in cycles (last).

    ``edges`` are (child, parent) pairs. Ties are broken by name so the order is stable.
    """
    names = sorted(set(tables))
    parents: dict[str, set[str]] = {t: set() for t in names}
    for child, parent in edges:
        if child in parents and parent in parents and child != parent:
            parents[child].add(parent)
    order: list[str] = []
    done: set[str] = set()
    while True:
        ready = [t for t in names if t not in done and parents[t] <= done]
        if not ready:
            break
        order.append(ready[0])
        done.add(ready[0])
    cycles = [t for t in names if t not in done]
    return order + cycles, cycles


@dataclass(frozen=True)
class ForeignKey:
    child: str
    parent: str
    child_columns: tuple[str, ...]
    parent_columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, SQL type) in column order
    primary_key: tuple[str, ...]  # empty: none

    @property
    def part(self) -> str | None:
        return part_of(self.name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)


@dataclass(frozen=True)
class Catalog:
    tables: dict[str, Table]  # every table of schema public, in FK order
    order: tuple[str, ...]  # parents before children, cycles last
    cycles: tuple[str, ...]
    fkeys: tuple[ForeignKey, ...]

    def in_part(self, *parts: str | None) -> list[Table]:
        """The tables of ``parts`` (``database``, ``epg``, None for per-server), FK order."""
        return [self.tables[t] for t in self.order if part_of(t) in parts]

    @property
    def per_server(self) -> list[str]:
        return [t.name for t in self.in_part(None)]

    @property
    def epg(self) -> list[str]:
        return [t.name for t in self.in_part(PART_EPG)]

    def configuration_tables(self) -> list[str]:
        """Configuration tables with a primary key (what copy config can replicate)."""
        return [t.name for t in self.in_part(PART_DATABASE) if t.primary_key]

    @property
    def edges(self) -> list[tuple[str, str]]:
        """(child, parent) pairs, each once."""
        return sorted({(k.child, k.parent) for k in self.fkeys})

    def dependents(self, loaded: set[str]) -> list[str]:
        """Tables not in ``loaded`` that reference them (directly or not), in FK order."""
        found: set[str] = set()
        changed = True
        while changed:
            changed = False
            for key in self.fkeys:
                if key.parent in loaded | found and key.child not in loaded | found:
                    found.add(key.child)
                    changed = True
        return [t for t in self.order if t in found]


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (quoted by psycopg)."""
    return sql.Identifier(name).as_string(None)


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


def parse_catalog(rows: Iterable[Sequence[object]]) -> Catalog:
    """A :class:`Catalog` from the rows of :data:`CATALOG_SQL` (any order)."""
    columns: dict[str, list[tuple[str, str]]] = {}
    pkeys: dict[str, tuple[str, ...]] = {}
    fkeys: list[ForeignKey] = []
    for row in rows:
        kind, a, b, c, d = (str(x) if x is not None else "" for x in row)
        if kind == "c":
            columns.setdefault(a, []).append((b, c))
        elif kind == "p":
            pkeys[a] = _split(b)
        elif kind == "f":
            fkeys.append(ForeignKey(a, b, _split(c), _split(d)))
    fkeys.sort(key=lambda k: (k.child, k.parent, k.child_columns))
    order, cycles = fk_order(columns, [(k.child, k.parent) for k in fkeys])
    tables = {t: Table(t, tuple(columns[t]), pkeys.get(t, ())) for t in order}
    return Catalog(tables, tuple(order), tuple(cycles), tuple(fkeys))


def parse_catalog_text(text: str) -> Catalog:
    """A :class:`Catalog` from ``psql -At -F '\\t'`` output of :data:`CATALOG_SQL`."""
    rows = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 5:
            rows.append(fields)
    return parse_catalog(rows)


# Every database session PMC opens on a server: a transaction left idle (PMC gone, a cut link)
# ends by itself after 5 minutes, and a lock held by another client is waited for at most a
# minute (the session then fails with "lock timeout" instead of queueing the server's work).
SESSION_LIMITS = "-c idle_in_transaction_session_timeout=300000 -c lock_timeout=60000"


def psql_argv(layout: PlayoutLayout, *extra: str) -> list[str]:
    database = f"dbname={layout.database} options='{SESSION_LIMITS}'"
    return [
        "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
        "-U", layout.database_user, "-d", database, *extra,
    ]  # fmt: skip


async def psql_query(connection: Connection, layout: PlayoutLayout, sql: str) -> str:
    """``sql``'s rows as tab-separated lines, run by ``psql`` on the server (as root)."""
    argv = psql_argv(layout, "-At", "-F", "\t", "-c", sql)
    result = await run(connection, argv, root=True, check=True)
    return result.stdout


async def read_catalog(connection: Connection, layout: PlayoutLayout) -> Catalog:
    """The catalog of the server's ``playout`` database (one ``psql`` call over SSH)."""
    return parse_catalog_text(await psql_query(connection, layout, CATALOG_SQL))
