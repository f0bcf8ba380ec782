"""The database part of an import: a bundle's table data reaches PostgreSQL only as data.

A bundle is untrusted input: a file from another site, whose checksums prove it intact, not
who wrote it. So no SQL text is ever composed from a member's bytes. PMC talks to the target's
``playout`` database over the PostgreSQL protocol, through an SSH tunnel whose local end is
PMC's alone (:mod:`pmc.playout_database`), with psycopg:

1. :meth:`TableLoad.begin` opens the transaction and creates one temporary staging table per
   imported table, with the target's own column types (``CREATE TEMP TABLE … AS SELECT cols
   FROM public.t WITH NO DATA``).
2. :meth:`TableLoad.copy` streams each member into its staging table with ``COPY … FROM
   STDIN`` (the protocol's copy-in: the member is data, whatever bytes it holds). A member that
   PostgreSQL does not read as the table's COPY format is refused with its name and line.
3. :meth:`TableLoad.swap`, after every member is in: each staging table must hold the bundle's
   row count, and the target's catalog, read again inside the transaction, must still have the
   bundle's columns with the same types. Only then are the tables emptied (children first) and
   filled from the staging tables (parents first); rows of tables that are not imported but
   reference imported ones (the EPG when it is left out) are set aside first and put back
   where their references still exist.
4. The caller commits (:meth:`TableLoad.commit`) once the data folders are staged too; any
   failure before that rolls the whole transaction back. While they stream, the transaction
   waits with nothing to do: :meth:`TableLoad.kept_alive` sends it a ``SELECT 1`` every
   :data:`KEEP_ALIVE` seconds, so that PostgreSQL does not end it as idle (every PMC session's
   ``idle_in_transaction_session_timeout``, :data:`~pmc.catalog.SESSION_LIMITS`) however long
   a slow link takes to move the files.

Rights: COPY into temporary tables, DELETE and INSERT on the imported tables — what loading
the same rows by hand needs, no superuser. Tables caught in a foreign-key cycle are loaded with
``session_replication_role = replica`` (as Slony does), which the database user must be
allowed to set.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
from psycopg import sql

from pmc.bundle.archive import CHUNK, ByteCounter, Readable
from pmc.bundle.errors import BadTableData, BundleOperationFailed
from pmc.bundle.import_plan import check_columns
from pmc.bundle.manifest import TableSpec
from pmc.catalog import CATALOG_SQL, SESSION_LIMITS, Catalog, parse_catalog
from pmc.playout_database import PgConn, playout_database
from pmc.remote.connection import Connection
from pmc.words import plural

_LINE = re.compile(r"\bline (\d+)")
KEEP_ALIVE = 60.0  # seconds between keep-alives of a waiting load (its idle limit: 300 s)


def target_database(connection: Connection) -> contextlib.AbstractAsyncContextManager[PgConn]:
    """A psycopg connection to the server's ``playout`` database, through a private tunnel,
    with the session limits of every session PMC opens (idle ends, lock waits bounded) and
    nothing more: no statement time limit, however long a COPY over a slow link takes."""
    return playout_database(connection, options=SESSION_LIMITS, refused=_refused)


def _refused(exc: psycopg.OperationalError, where: str) -> BundleOperationFailed:
    return BundleOperationFailed(
        f"cannot open the playout database through SSH ({str(exc).strip()[:300]})",
        where=where,
        hint="Check that PostgreSQL runs on the server and that its sshd allows TCP "
        "forwarding (AllowTcpForwarding). Nothing was changed",
    )


def _cols(names: Iterable[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _table(name: str) -> sql.Composable:
    return sql.Identifier("public", name)


class TableLoad:
    """One import's tables, loaded in one transaction on ``pg`` (blocking: a worker thread)."""

    def __init__(
        self,
        pg: PgConn,
        tables: list[TableSpec],
        catalog: Catalog,
        *,
        rows: dict[str, int],
        cycles: bool,
        where: str,
        bundle: str,
    ) -> None:
        self.pg = pg
        self.tables = tables
        self.catalog = catalog
        self.rows = rows
        self.cycles = cycles
        self.where = where
        self.bundle = bundle
        loaded = {t.name for t in tables}
        self.keep = catalog.dependents(loaded)  # set aside, and put back where they fit
        self.stage = {spec.name: f"pmc_stage_{i}" for i, spec in enumerate(tables)}
        self.kept = {name: f"pmc_keep_{i}" for i, name in enumerate(self.keep)}
        self.by_member = {spec.member: spec for spec in tables}

    def _execute(self, query: sql.SQL | sql.Composed) -> list[tuple[Any, ...]]:
        try:
            with self.pg.cursor() as cur:
                cur.execute(query)
                return cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            raise self._failed(exc) from exc

    def _failed(self, exc: psycopg.Error) -> BundleOperationFailed:
        return BundleOperationFailed(
            f"the database refused the import ({str(exc).strip()[:400]})",
            where=self.where,
            hint="The database was left as it was",
        )

    def begin(self) -> None:
        self._execute(sql.SQL("SET LOCAL lock_timeout = '60s'"))
        for spec in self.tables:
            self._execute(
                sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA")
                .format(
                    sql.Identifier(self.stage[spec.name]),
                    _cols(c for c, _ in spec.columns),
                    _table(spec.name),
                )
            )  # fmt: skip

    @contextlib.contextmanager
    def kept_alive(self) -> Iterator[None]:
        """While the block runs (the data folders streaming after the tables, the backup
        being finished), a ``SELECT 1`` every :data:`KEEP_ALIVE` seconds from a thread of its
        own, so that the transaction is never idle long enough for PostgreSQL to end it (a
        COPY holds the connection: the keep-alive waits for its end). A failed keep-alive
        stops them; the load's next statement reports the lost session."""
        stop = threading.Event()

        def keep() -> None:
            while not stop.wait(KEEP_ALIVE):
                try:
                    self._execute(sql.SQL("SELECT 1"))
                except BundleOperationFailed:
                    return

        threading.Thread(target=keep, name="pmc-db-keep-alive", daemon=True).start()
        try:
            yield
        finally:
            stop.set()  # a keep-alive under way ends by itself, after its statement

    def copy(self, spec: TableSpec, stream: Readable, progress: ByteCounter) -> None:
        """Stream one member into its staging table (COPY over the protocol)."""
        query = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(self.stage[spec.name]), _cols(c for c, _ in spec.columns)
        )
        try:
            with self.pg.cursor() as cur, cur.copy(query) as copy:
                while chunk := stream.read(CHUNK):
                    copy.write(chunk)
                    progress(len(chunk))
        except psycopg.DataError as exc:
            context = exc.diag.context or ""
            line = _LINE.search(context)
            raise BadTableData(
                f"member {spec.member}"
                + (f", line {line.group(1)}" if line else "")
                + f": PostgreSQL does not read it as the table's COPY data "
                f"({(exc.diag.message_primary or str(exc)).strip()[:300]})",
                where=self.bundle,
                hint="The bundle was altered or does not fit the target's schema. The "
                "database was left as it was",
            ) from exc
        except psycopg.Error as exc:
            raise self._failed(exc) from exc

    def swap(self) -> None:
        """Check the staged tables, then replace the target's rows with them."""
        for spec in self.tables:
            ((count,),) = self._execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(self.stage[spec.name]))
            )
            want = self.rows.get(spec.name, 0)
            if count != want:
                raise BadTableData(
                    f"member {spec.member} loaded {plural(count, 'row')} but the bundle says "
                    f"{want}",
                    where=self.bundle,
                    hint="The bundle was altered. The database was left as it was",
                )
        found = parse_catalog(self._execute(sql.SQL(CATALOG_SQL)))
        check_columns(self.tables, found, self.where)
        if self.cycles:
            self._execute(sql.SQL("SET LOCAL session_replication_role = replica"))
        for name, kept in self.kept.items():
            self._execute(
                sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT * FROM {}").format(
                    sql.Identifier(kept), _table(name)
                )
            )
        for name in [*reversed(self.keep), *(t.name for t in reversed(self.tables))]:
            self._execute(sql.SQL("DELETE FROM {}").format(_table(name)))
        for spec in self.tables:
            cols = _cols(c for c, _ in spec.columns)
            self._execute(
                sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
                    _table(spec.name), cols, cols, sql.Identifier(self.stage[spec.name])
                )
            )
        for name in self.keep:
            self._execute(self._put_back(name))

    def _put_back(self, name: str) -> sql.Composed:
        """Set-aside rows of ``name`` whose references (to loaded or kept tables) still exist."""
        present = {t.name for t in self.tables} | set(self.keep)
        conds: list[sql.Composable] = []
        for key in self.catalog.fkeys:
            if key.child != name or key.parent not in present:
                continue
            nulls = sql.SQL(" OR ").join(
                sql.SQL("{} IS NULL").format(sql.Identifier("k", c)) for c in key.child_columns
            )
            match = sql.SQL(" AND ").join(
                sql.SQL("{} = {}").format(sql.Identifier("p", pc), sql.Identifier("k", cc))
                for cc, pc in zip(key.child_columns, key.parent_columns, strict=True)
            )
            conds.append(
                sql.SQL("({} OR EXISTS (SELECT 1 FROM {} p WHERE {}))").format(
                    nulls, _table(key.parent), match
                )
            )
        where = sql.SQL(" AND ").join(conds) if conds else sql.SQL("true")
        return sql.SQL("INSERT INTO {} SELECT * FROM {} k WHERE {}").format(
            _table(name), sql.Identifier(self.kept[name]), where
        )

    def commit(self) -> None:
        try:
            self.pg.commit()
        except psycopg.Error as exc:
            raise self._failed(exc) from exc
