"""The ``playout`` database as a bundle sees it: tables, columns and foreign-key order.

PMC reads the order from PostgreSQL's catalog at export time (so it works on a real Playout
database, not only the lab's) and records it in the manifest: parents before children, so an
import deletes in reverse order and loads in order with every constraint still checked. Tables
caught in a foreign-key cycle are listed apart; their import runs with triggers off (as Slony
does), the only way to load a cycle without deferrable constraints.

Which tables a bundle carries: every table of schema ``public`` except the per-server ones
(TS outputs and the replication status, which Playout configures on each server separately);
tables named ``eit_event…`` are the EPG, carried only when asked for.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from pmc.bundle.manifest import PART_DATABASE, PART_EPG, TableSpec
from pmc.layout import PlayoutLayout
from pmc.remote.commands import run
from pmc.remote.connection import Connection

LOCAL_TABLES = frozenset({"ts_outputs", "replication_status"})
EPG_PREFIX = "eit_event"

COLUMNS_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0
  AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY c.relname, a.attnum
"""

FKEYS_SQL = """
SELECT child.relname, parent.relname,
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
ORDER BY 1, 2
"""


def part_of(table: str) -> str | None:
    """``database``, ``epg``, or None for a per-server table that bundles never carry."""
    if table in LOCAL_TABLES:
        return None
    if table.startswith(EPG_PREFIX):
        return PART_EPG
    return PART_DATABASE


def fk_order(
    tables: Iterable[str], edges: Iterable[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """Tables with every parent before its children, and the tables left in cycles.

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


def parse_rows(text: str, width: int) -> list[tuple[str, ...]]:
    rows = []
    for line in text.splitlines():
        if not line:
            continue
        fields = tuple(line.split("\t"))
        if len(fields) == width:
            rows.append(fields)
    return rows


@dataclass(frozen=True)
class ForeignKey:
    child: str
    parent: str
    child_columns: tuple[str, ...]
    parent_columns: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    specs: dict[str, TableSpec]  # every public table, per-server ones with part "local"
    order: list[str]  # parents before children
    cycles: list[str]
    fkeys: list[ForeignKey]


def build_catalog(columns_text: str, fkeys_text: str) -> Catalog:
    cols: dict[str, list[tuple[str, str]]] = {}
    for table, column, sqltype in parse_rows(columns_text, 3):
        cols.setdefault(table, []).append((column, sqltype))
    fkeys = [
        ForeignKey(c, p, tuple(cc.split(",")), tuple(pc.split(",")))
        for c, p, cc, pc in parse_rows(fkeys_text, 4)
    ]
    order, cycles = fk_order(cols, [(k.child, k.parent) for k in fkeys])
    specs = {t: TableSpec(t, part_of(t) or "local", tuple(cols[t])) for t in order}
    return Catalog(specs, order, cycles, fkeys)


def dependents(catalog: Catalog, loaded: set[str]) -> list[str]:
    """Tables not in ``loaded`` that reference them (directly or not), in FK order."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for key in catalog.fkeys:
            if key.parent in loaded | found and key.child not in loaded and key.child not in found:
                found.add(key.child)
                changed = True
    return [t for t in catalog.order if t in found]


def psql_argv(layout: PlayoutLayout, *extra: str) -> list[str]:
    return [
        "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
        "-U", layout.database_user, "-d", layout.database, *extra,
    ]  # fmt: skip


async def psql_query(connection: Connection, layout: PlayoutLayout, sql: str) -> str:
    argv = psql_argv(layout, "-At", "-F", "\t", "-c", sql)
    result = await run(connection, argv, root=True, check=True)
    return result.stdout


async def read_catalog(connection: Connection, layout: PlayoutLayout) -> Catalog:
    columns = await psql_query(connection, layout, COLUMNS_SQL)
    fkeys = await psql_query(connection, layout, FKEYS_SQL)
    return build_catalog(columns, fkeys)


VERSION_SCRIPT = (
    "for f in /opt/playout/VERSION /opt/playout/version /opt/playout/version.txt; do "
    '[ -r "$f" ] && { head -c 200 "$f"; exit 0; }; done; '
    "rpm -q --qf '%{VERSION}-%{RELEASE}' playout 2>/dev/null && exit 0; echo unknown"
)


async def playout_version(connection: Connection) -> str:
    """Playout's version on the server (a version file or the RPM), or ``unknown``."""
    result = await run(connection, ["sh", "-c", VERSION_SCRIPT], root=True)
    text = result.stdout.strip().splitlines()
    value = text[-1].strip() if text else ""
    return value if value and "not installed" not in value else "unknown"


async def postgresql_version(connection: Connection, layout: PlayoutLayout) -> str:
    try:
        return (await psql_query(connection, layout, "SHOW server_version")).strip() or "unknown"
    except Exception:  # informative only
        return "unknown"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def copy_columns(spec: TableSpec) -> str:
    return ", ".join(quote_ident(c) for c, _ in spec.columns)


def shell_quote(text: str) -> str:
    return shlex.quote(text)


def version_tuple(text: str) -> tuple[int, ...] | None:
    """``5.2.1-3`` → (5, 2, 1, 3); None when there is no number to compare."""
    parts: list[int] = []
    for piece in text.replace("-", ".").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) or None
