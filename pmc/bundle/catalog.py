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
from dataclasses import dataclass

from psycopg import sql

from pmc import catalog as shared
from pmc.bundle.manifest import TableSpec
from pmc.catalog import EPG_PREFIX, ForeignKey, fk_order, part_of, psql_argv, psql_query
from pmc.layout import PlayoutLayout
from pmc.remote.commands import run
from pmc.remote.connection import Connection

__all__ = [
    "EPG_PREFIX",
    "LOCAL_TABLES",
    "Catalog",
    "ForeignKey",
    "build_catalog",
    "dependents",
    "fk_order",
    "part_of",
    "psql_argv",
    "psql_query",
    "read_catalog",
]

LOCAL_TABLES = shared.PER_SERVER_TABLES


@dataclass(frozen=True)
class Catalog:
    specs: dict[str, TableSpec]  # every public table, per-server ones with part "local"
    order: list[str]  # parents before children
    cycles: list[str]
    fkeys: list[ForeignKey]


def build_catalog(found: shared.Catalog) -> Catalog:
    """The bundle's view of :class:`pmc.catalog.Catalog`: a manifest spec for every table."""
    specs = {t: TableSpec(t, part_of(t) or "local", found.tables[t].columns) for t in found.order}
    return Catalog(specs, list(found.order), list(found.cycles), list(found.fkeys))


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


async def read_catalog(connection: Connection, layout: PlayoutLayout) -> Catalog:
    return build_catalog(await shared.read_catalog(connection, layout))


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
    return sql.Identifier(name).as_string(None)


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
