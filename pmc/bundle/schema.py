"""The database as a bundle records it: a manifest spec of a table of :mod:`pmc.catalog` (the
one catalog: tables, columns, foreign-key order), Playout's and PostgreSQL's versions, and the
column list of a table's COPY.

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

from pmc.bundle.manifest import TableSpec
from pmc.catalog import Table, psql_query, quote_ident
from pmc.layout import PlayoutLayout
from pmc.remote.commands import run
from pmc.remote.connection import Connection

LOCAL = "local"  # the part of a per-server table in a manifest spec


def spec_of(table: Table) -> TableSpec:
    """``table``'s spec in a manifest (a per-server table in part ``local``)."""
    return TableSpec(table.name, table.part or LOCAL, table.columns)


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


def copy_columns(spec: TableSpec) -> str:
    return ", ".join(quote_ident(c) for c, _ in spec.columns)


def version_tuple(text: str) -> tuple[int, ...] | None:
    """``5.2.1-3`` → (5, 2, 1, 3); None when there is no number to compare."""
    parts: list[int] = []
    for piece in text.replace("-", ".").split("."):
        digits = "".join(ch for ch in piece if ch.isdecimal())  # what int() reads: not ²
        if not digits or len(digits) > 18:  # a longer number is no version
            break
        parts.append(int(digits))
    return tuple(parts) or None
