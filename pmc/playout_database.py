"""A server's ``playout`` database as psycopg reaches it: through PMC's own SSH tunnel.

PostgreSQL listens on the server's own 127.0.0.1 and the operator's desktop is in no pg_hba
rule, so the import and the sync reach it through a tunnel whose local end is PMC's alone
(:mod:`pmc.remote.tunnels`) and connect as the layout's database user. :func:`playout_database`
is that one way: the tunnel, the connection made in a worker thread (15 s for PostgreSQL to
answer), and both closed afterwards — the tunnel first, so that a worker still inside a
statement (a COPY, a hash) fails at once instead of in minutes.

What differs between callers is theirs to say:

- ``options``, the session's settings. Every session has :data:`pmc.catalog.SESSION_LIMITS`;
  the sync adds fixed output settings (time zone, date style, float digits, …: its row
  hashes are compared across servers) and a statement time limit, which the import must not
  have (one COPY of a large table over a slow link may take longer; its members are read
  with the target's own input settings, as ``psql`` wrote them on a server set up alike).
- ``refused``, the error the operator reads when PostgreSQL does not answer, in the words of
  the job that asked (:class:`~pmc.bundle.errors.BundleOperationFailed` for an import, the
  sync's :class:`~pmc.sync.table_rows.TransientDatabaseError`, which it may try again).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import psycopg

from pmc.errors import PmcError
from pmc.remote.connection import Connection
from pmc.remote.tunnels import open_tunnel

PgConn = psycopg.Connection[tuple[Any, ...]]
T = TypeVar("T")

CONNECT_TIMEOUT = 15  # seconds for PostgreSQL to answer through the tunnel

# The caller's error for a database that did not answer: (psycopg's error, where) -> error
Refused = Callable[[psycopg.OperationalError, str], PmcError]


def connect(dsn: str, where: str, *, options: str, refused: Refused) -> PgConn:
    """A session on ``dsn`` with ``options``; ``refused(error, where)`` raised if it fails
    (blocking: a worker thread)."""
    try:
        return psycopg.connect(dsn, options=options, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.OperationalError as exc:
        raise refused(exc, where) from exc


@contextlib.asynccontextmanager
async def playout_database(
    connection: Connection, *, options: str, refused: Refused
) -> AsyncIterator[PgConn]:
    """A psycopg session on the server's ``playout`` database, through a tunnel of its own."""
    layout = connection.server.layout
    async with await open_tunnel(connection, layout.postgresql_port) as tunnel:
        info = tunnel.conninfo(dbname=layout.database, user=layout.database_user)
        pg = await opened_in_thread(
            lambda: connect(info, connection.label, options=options, refused=refused), close
        )
        try:
            yield pg
        finally:
            tunnel.close()  # a worker still inside a statement fails at once, not in minutes
            await asyncio.to_thread(close, pg)


async def opened_in_thread(open_: Callable[[], T], close: Callable[[T], None]) -> T:
    """``open_()`` run in a worker thread. If the caller is cancelled meanwhile (a refresh
    dropped, a window closed), what the thread still opens is closed when it comes, never
    left open for the garbage collector (psycopg warns of it; under pytest that fails a test)."""
    opening = asyncio.ensure_future(asyncio.to_thread(open_))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(lambda done: _close_late(done, close))
        raise


def _close_late(done: asyncio.Future[T], close: Callable[[T], None]) -> None:
    if not done.cancelled() and done.exception() is None:
        with contextlib.suppress(Exception):
            close(done.result())


def close(pg: PgConn) -> None:
    """Close ``pg``; a session already cut (its tunnel closed) raises nothing."""
    with contextlib.suppress(Exception):
        pg.close()
