"""The delta engine's database side: catalog, row hashes and the one-transaction apply.

Blocking psycopg code, run in worker threads (psycopg's async connection cannot run on
qasync's Windows loop). Each server's ``playout`` database is reached through an SSH tunnel
(:func:`pmc.playout_database.playout_database`, with :data:`SESSION_OPTIONS`); the functions
here take plain psycopg connections, so they also work on any DSN (tests against local
PostgreSQL instances).

Hashes are computed inside PostgreSQL: ``md5(ROW(col…)::text)`` per row, keyed by the primary
key's text, with the column list of the primary so that both servers hash the same thing, and
fixed output settings (time zone, date style, float digits, bytea) in both sessions. A table
whose digest (count plus an md5 over its row hashes in key order) is equal on both servers is
not fetched row by row.

The apply runs in one transaction on the secondary with ``session_replication_role = replica``
(as Slony applies, foreign-key triggers off while rows move; the end state is the primary's
consistent snapshot): deletes children first, then upserts parents first, each through a
temporary table filled by ``COPY`` and merged with ``INSERT … ON CONFLICT … DO UPDATE``. Before
it commits, the digests of the changed tables are checked against the primary's; a cancel or
any failure rolls the whole transaction back, leaving the secondary as it was.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
from psycopg import sql

from pmc import catalog
from pmc.errors import Cancelled, PmcError
from pmc.sync.delta import (
    DatabaseDelta,
    Key,
    Schema,
    TableSchema,
    build_schema,
    diff_hashes,
    keys_as_copy,
)
from pmc.words import plural

SESSION_OPTIONS = (
    f"{catalog.SESSION_LIMITS} "  # idle transactions end by themselves; lock waits bounded
    "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=3 "
    "-c bytea_output=hex -c statement_timeout=600000 -c lock_timeout=30000"
)

# The catalog query is pmc.catalog's (one for bundles, sync and setup verify); the foreign
# keys' (child, parent) pairs alone, for callers that want only those:
FKEYS_SQL = (
    "SELECT DISTINCT child, parent FROM (" + catalog.CATALOG_SQL + ") AS k(kind, child, parent, "
    "c, d) WHERE kind = 'f'"
)


class DatabaseSyncError(PmcError):
    """The delta engine could not read or change a database."""


class TransientDatabaseError(DatabaseSyncError):
    """The connection to a database dropped; trying again may work."""


def unreachable(exc: psycopg.OperationalError, where: str) -> TransientDatabaseError:
    """The sync's error for a playout database that did not answer (it may try again)."""
    return TransientDatabaseError(
        f"cannot open the playout database ({str(exc).strip()[:200]})",
        where=where,
        hint="Check that PostgreSQL runs on the server and that SSH port forwarding works.",
    )


def read_schema(
    conn: psycopg.Connection[tuple[object, ...]],
    *,
    include_ts_outputs: bool = False,
    only: Iterable[str] | None = None,
) -> Schema:
    """The tables to synchronise, from the catalog of ``conn`` (the primary)."""
    with conn.cursor() as cur:
        found = catalog.parse_catalog(cur.execute(catalog.CATALOG_SQL).fetchall())
    columns = [(t.name, c) for t in found.tables.values() for c in t.column_names]
    pkeys = {t.name: list(t.primary_key) for t in found.tables.values() if t.primary_key}
    return build_schema(
        columns, pkeys, found.edges, include_ts_outputs=include_ts_outputs, only=only
    )


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def _cols(names: Iterable[str], prefix: str | None = None) -> sql.Composable:
    if prefix:
        return sql.SQL(", ").join(sql.Identifier(prefix, n) for n in names)
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _row_hash(table: TableSchema) -> sql.Composable:
    return sql.SQL("md5(ROW({})::text)").format(_cols(table.columns, "t"))


def digest_sql(table: TableSchema) -> sql.Composed:
    return sql.SQL(
        "SELECT count(*), coalesce(md5(string_agg({h}, '' ORDER BY {pk})), '') FROM public.{t} AS t"
    ).format(h=_row_hash(table), pk=_cols(table.primary_key, "t"), t=_ident(table.name))


def hashes_sql(table: TableSchema) -> sql.Composed:
    keys = sql.SQL(", ").join(
        sql.SQL("{}::text").format(sql.Identifier("t", c)) for c in table.primary_key
    )
    return sql.SQL("SELECT {k}, {h} FROM public.{t} AS t").format(
        k=keys, h=_row_hash(table), t=_ident(table.name)
    )


def _run(server: str, doing: str, action: Callable[[], object]) -> object:
    try:
        return action()
    except psycopg.OperationalError as exc:
        raise TransientDatabaseError(
            f"the connection to the playout database dropped while {doing}"
            f" ({str(exc).strip()[:200]})",
            where=server,
            hint="PMC tries again; if it keeps failing, check the server's network and SSH.",
        ) from exc
    except psycopg.Error as exc:
        raise DatabaseSyncError(
            f"PostgreSQL refused {doing}: {str(exc).strip()[:300]}",
            where=server,
            hint="Check that both servers run the same Playout version (same tables).",
        ) from exc


def digests(
    conn: psycopg.Connection[tuple[object, ...]], schema: Schema, *, server: str
) -> dict[str, tuple[int, str]]:
    """``table → (row count, digest)`` for every table of ``schema``."""

    def go() -> dict[str, tuple[int, str]]:
        out: dict[str, tuple[int, str]] = {}
        with conn.cursor() as cur:
            for table in schema.tables:
                row = cur.execute(digest_sql(table)).fetchone()
                assert row is not None
                out[table.name] = (int(str(row[0])), str(row[1]))
        return out

    return _run(server, "hashing its tables", go)  # type: ignore[return-value]


def row_hashes(
    conn: psycopg.Connection[tuple[object, ...]], table: TableSchema, *, server: str
) -> dict[Key, str]:
    width = len(table.primary_key)

    def go() -> dict[Key, str]:
        with conn.cursor() as cur:
            rows = cur.execute(hashes_sql(table)).fetchall()
        return {tuple(str(v) for v in r[:width]): str(r[width]) for r in rows}

    return _run(server, f"hashing the rows of {table.name}", go)  # type: ignore[return-value]


@dataclass(frozen=True)
class Comparison:
    delta: DatabaseDelta
    primary_digests: dict[str, tuple[int, str]]
    secondary_digests: dict[str, tuple[int, str]]


def compare(
    primary: psycopg.Connection[tuple[object, ...]],
    secondary: psycopg.Connection[tuple[object, ...]],
    schema: Schema,
    *,
    names: tuple[str, str] = ("primary", "secondary"),
) -> Comparison:
    """Compare every table of ``schema``; only tables whose digests differ are fetched."""
    with ThreadPoolExecutor(2, thread_name_prefix="pmc-sync-hash") as both:
        # Each server hashes at the same time (one connection per thread).
        p_future = both.submit(digests, primary, schema, server=names[0])
        s_digests = digests(secondary, schema, server=names[1])
        p_digests = p_future.result()
        deltas = []
        for table in schema.tables:
            if p_digests[table.name] == s_digests[table.name]:
                deltas.append(diff_hashes(table.name, {}, {}))
                continue
            p_rows_future = both.submit(row_hashes, primary, table, server=names[0])
            s_rows = row_hashes(secondary, table, server=names[1])
            deltas.append(diff_hashes(table.name, p_rows_future.result(), s_rows))
    delta = DatabaseDelta(tuple(deltas), schema.skipped, schema.names)
    return Comparison(delta, p_digests, s_digests)


def _load_keys(
    cur: psycopg.Cursor[tuple[object, ...]], temp: str, table: TableSchema, keys: tuple[Key, ...]
) -> None:
    cur.execute(
        sql.SQL(
            "CREATE TEMP TABLE {tmp} ON COMMIT DROP AS SELECT {pk} FROM public.{t} WITH NO DATA"
        ).format(tmp=_ident(temp), pk=_cols(table.primary_key), t=_ident(table.name))
    )
    with cur.copy(sql.SQL("COPY {} FROM STDIN").format(_ident(temp))) as copy:
        data = keys_as_copy(keys)
        for start in range(0, len(data), 1 << 20):
            copy.write(data[start : start + (1 << 20)])


def _join(table: TableSchema, left: str, right: str) -> sql.Composable:
    return sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier(left, c), sql.Identifier(right, c))
        for c in table.primary_key
    )


def _upsert_sql(table: TableSchema, temp: str) -> sql.Composed:
    others = [c for c in table.columns if c not in table.primary_key]
    if others:
        action: sql.Composable = sql.SQL("DO UPDATE SET {}").format(
            sql.SQL(", ").join(
                sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in others
            )
        )
    else:
        action = sql.SQL("DO NOTHING")
    return sql.SQL(
        "INSERT INTO public.{t} ({cols}) SELECT {cols} FROM {tmp} ON CONFLICT ({pk}) {action}"
    ).format(
        t=_ident(table.name),
        cols=_cols(table.columns),
        tmp=_ident(temp),
        pk=_cols(table.primary_key),
        action=action,
    )


Report = Callable[[str], None]


def apply_delta(
    primary: psycopg.Connection[tuple[object, ...]],
    secondary: psycopg.Connection[tuple[object, ...]],
    schema: Schema,
    comparison: Comparison,
    *,
    cancel: threading.Event,
    report: Report = lambda _m: None,
    names: tuple[str, str] = ("primary", "secondary"),
) -> int:
    """Make the secondary's tables equal to the primary's in one transaction; returns the
    number of rows changed. ``cancel`` is checked between tables (rolls everything back)."""
    delta = comparison.delta
    if delta.is_empty:
        return 0
    changed = 0

    def checkpoint() -> None:
        if cancel.is_set():
            raise Cancelled(f"the delta sync was cancelled; {names[1]} was left as it was")

    def body() -> None:
        nonlocal changed
        with secondary.cursor() as dst, primary.cursor() as src:
            dst.execute("SET LOCAL session_replication_role = replica")
            for n, tdelta in enumerate(delta.delete_order()):
                checkpoint()
                table = schema.table(tdelta.table)
                temp = f"pmc_sync_del_{n}"
                _load_keys(dst, temp, table, tdelta.deletes)
                dst.execute(
                    sql.SQL("DELETE FROM public.{t} AS t USING {tmp} AS d WHERE {on}").format(
                        t=_ident(table.name), tmp=_ident(temp), on=_join(table, "t", "d")
                    )
                )
                changed += dst.rowcount
                report(f"deleted {plural(dst.rowcount, 'row')} from {table.name}")
            for n, tdelta in enumerate(delta.upsert_order()):
                checkpoint()
                table = schema.table(tdelta.table)
                keys_temp, rows_temp = f"pmc_sync_keys_{n}", f"pmc_sync_rows_{n}"
                _load_keys(src, keys_temp, table, tdelta.upserts)
                dst.execute(
                    sql.SQL(
                        "CREATE TEMP TABLE {tmp} ON COMMIT DROP AS SELECT {cols} FROM public.{t}"
                        " WITH NO DATA"
                    ).format(tmp=_ident(rows_temp), cols=_cols(table.columns), t=_ident(table.name))
                )
                out = sql.SQL(
                    "COPY (SELECT {cols} FROM public.{t} AS t JOIN {k} AS k ON {on}) TO STDOUT"
                ).format(
                    cols=_cols(table.columns, "t"),
                    t=_ident(table.name),
                    k=_ident(keys_temp),
                    on=_join(table, "t", "k"),
                )
                into = sql.SQL("COPY {tmp} ({cols}) FROM STDIN").format(
                    tmp=_ident(rows_temp), cols=_cols(table.columns)
                )
                with src.copy(out) as reader, dst.copy(into) as writer:
                    buffer = bytearray()
                    for block in reader:
                        buffer += block
                        if len(buffer) >= 1 << 20:
                            writer.write(bytes(buffer))
                            buffer.clear()
                    if buffer:
                        writer.write(bytes(buffer))
                dst.execute(_upsert_sql(table, rows_temp))
                changed += dst.rowcount
                report(f"wrote {plural(dst.rowcount, 'row')} of {table.name}")
            checkpoint()
            for tdelta in delta.changed:
                table = schema.table(tdelta.table)
                row = dst.execute(digest_sql(table)).fetchone()
                assert row is not None
                if (int(str(row[0])), str(row[1])) != comparison.primary_digests[table.name]:
                    raise DatabaseSyncError(
                        f"after the changes, table {table.name} still differs from the primary's",
                        where=names[1],
                        hint="Nothing was changed. Run the sync again; if it repeats, use "
                        "copy config (--engine playout).",
                    )
            checkpoint()
        secondary.commit()

    try:
        _run(names[1], "changing its tables", body)
    except BaseException:
        with contextlib.suppress(psycopg.Error):
            secondary.rollback()
        raise
    finally:
        with contextlib.suppress(psycopg.Error):
            primary.rollback()  # ends the snapshot and drops the key tables
    return changed
