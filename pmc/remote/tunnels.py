"""Local port forwarding over a server's SSH connection (``ssh -L`` done by PMC).

The operator's desktop is not in a server's pg_hba and PostgreSQL listens on the server's own
127.0.0.1: PMC opens a listening socket and carries each connection made to it through a
``direct-tcpip`` channel to the server's ``remote_host:remote_port``. Several connections at
once work (psycopg's cancel opens a second one). Blocking work runs in threads of the tunnel's
own, so synchronous psycopg in a worker thread can use it freely.

What reaches the far end is PostgreSQL as its superuser (the vendor's manual trusts every
local connection), so the local end must be PMC's alone: on Linux (and every system but
Windows) it is a Unix socket ``.s.PGSQL.<port>`` in a folder of its own, mode 0700, that no
other local user can enter — libpq connects to it with ``host=<folder> port=<port>``
(:meth:`Tunnel.conninfo`). On Windows it stays a TCP port on 127.0.0.1: libpq there has no
Unix sockets to rely on, and any local process of the desktop can connect to it while it is
open (Windows desktops running PMC are single-operator machines).

Each forwarded connection takes the server's connection as it is then: after a drop it is made
again through exactly the path of any other call (:meth:`Connection.transport` on the event
loop the tunnel was opened from: host key verified against PMC's known hosts, an unknown key
put to the trust decision, a changed key refused before anything is sent). If that loop is not
running, does not answer within 2 s (blocked by synchronous work on its own thread) or stops
before it takes the connect up (:func:`run_on_loop`), the connection is made from the tunnel's
thread with the same checks and an unknown key is refused. A refused connection is closed at
once; :attr:`Tunnel.last_error` says why.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import select
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import paramiko
from psycopg.conninfo import make_conninfo

from pmc.errors import PmcError
from pmc.remote.connection import Connection
from pmc.remote.errors import ConnectionLost

log = logging.getLogger("pmc.remote.tunnels")
T = TypeVar("T")


class Tunnel:
    """A local port forwarded to ``remote_host:remote_port`` as seen from the server."""

    def __init__(
        self,
        connection: Connection,
        remote_host: str,
        remote_port: int,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.connection = connection
        self._loop = loop
        self.last_error: PmcError | None = None  # why the last forwarded connection failed
        self.refused = 0  # forwarded connections that could not be carried
        self.remote_host = remote_host
        self.remote_port = remote_port
        self.folder: str | None = None  # the private folder of the Unix socket
        # where clients connect: a socket path (Unix) or (host, port) (Windows); for libpq,
        # host (the folder, or 127.0.0.1) and port
        self.local_address: str | tuple[str, int]
        self.local_host: str
        self.local_port: int
        self._listener = self._listen()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket | paramiko.Channel] = set()
        self.connections_served = 0
        self._acceptor = threading.Thread(
            target=self._accept, name=f"pmc-tunnel-{self.local_port}", daemon=True
        )

    def _listen(self) -> socket.socket:
        if sys.platform == "win32":  # no Unix sockets for libpq: 127.0.0.1 (see the module)
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            self.local_host = "127.0.0.1"
            self.local_port = listener.getsockname()[1]
            self.local_address = ("127.0.0.1", self.local_port)
        else:
            self.folder = tempfile.mkdtemp(prefix="pmc-tunnel-")  # mode 0700, ours alone
            self.local_host = self.folder
            self.local_port = self.remote_port
            self.local_address = os.path.join(self.folder, f".s.PGSQL.{self.local_port}")
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                listener.bind(self.local_address)
                os.chmod(self.local_address, 0o600)
            except BaseException:
                listener.close()
                shutil.rmtree(self.folder, ignore_errors=True)
                raise
        listener.listen(16)
        return listener

    @property
    def family(self) -> socket.AddressFamily:
        """The local end's address family (``AF_UNIX``, or ``AF_INET`` on Windows)."""
        return self._listener.family

    def conninfo(self, **params: str | int) -> str:
        """A libpq connection string reaching the far end through this tunnel."""
        return make_conninfo("", host=self.local_host, port=self.local_port, **params)

    def __str__(self) -> str:
        local = self.local_address
        if not isinstance(local, str):
            local = f"{self.local_host}:{self.local_port}"
        return f"{local} → {self.connection.label} → {self.remote_host}:{self.remote_port}"

    def start(self) -> None:
        self._acceptor.start()

    def close(self) -> None:
        """Stop listening and cut every forwarded connection."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        with contextlib.suppress(OSError):
            self._listener.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        with self._lock:
            ends, self._open = list(self._open), set()
        for end in ends:
            with contextlib.suppress(Exception):
                end.close()

    async def __aenter__(self) -> Tunnel:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, origin = self._listener.accept()
            except OSError:
                return
            if not isinstance(origin, tuple):  # a Unix socket's peer: ours, on this machine
                origin = ("127.0.0.1", 0)
            threading.Thread(
                target=self._serve, args=(client, origin), name="pmc-tunnel-pump", daemon=True
            ).start()

    def _serve(self, client: socket.socket, origin: tuple[str, int]) -> None:
        channel: paramiko.Channel | None = None
        try:
            self._track(client)
            channel = self._open_forward(origin)
            self._track(channel)
            self.connections_served += 1
            self._pump(client, channel)
        except ConnectionAbortedError:
            pass
        except PmcError as exc:
            self.last_error = exc
            self.refused += 1
            log.warning("%s: forwarded connection refused: %s", self, exc)
        except Exception as exc:
            self.refused += 1
            log.warning("%s: forwarded connection failed: %s", self, exc)
        finally:
            for end in (client, channel):
                if end is not None:
                    with contextlib.suppress(Exception):
                        end.close()
                    with self._lock:
                        self._open.discard(end)

    def _open_forward(self, origin: tuple[str, int]) -> paramiko.Channel:
        dest = (self.remote_host, self.remote_port)
        transport = self._transport()
        try:
            return self.connection.open_forward_blocking(transport, dest, origin)
        except ConnectionLost:
            if transport.is_active():
                raise
        # the link had dropped without paramiko noticing yet: connect again, once
        return self.connection.open_forward_blocking(self._transport(), dest, origin)

    def _transport(self) -> paramiko.Transport:
        """The server's live transport; (re)connecting goes through the same host key checks
        and trust decision as every other call, on the tunnel's event loop when it runs."""
        if self.connection.is_connected:  # nothing to (re)connect: no need for the loop
            return self.connection.transport_blocking()
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running() or not _answers(loop):
            # no loop to ask on (or it is blocked): the same checks, an unknown key refused
            return self.connection.transport_blocking()
        timeouts = self.connection.timeouts
        limit = timeouts.connect + timeouts.banner + timeouts.auth + 600  # + an operator's answer
        try:
            return run_on_loop(loop, self.connection.transport, limit)
        except LoopGone:  # stopped or closed meanwhile: as if there were none
            return self.connection.transport_blocking()

    def _track(self, end: socket.socket | paramiko.Channel) -> None:
        with self._lock:
            if self._closed.is_set():
                end.close()
                raise ConnectionAbortedError("tunnel closed")
            self._open.add(end)

    def _pump(self, client: socket.socket, channel: paramiko.Channel) -> None:
        client_open = channel_open = True
        while client_open or channel_open:
            readers: list[socket.socket | paramiko.Channel] = []
            if client_open:
                readers.append(client)
            if channel_open:
                readers.append(channel)
            ready, _, _ = select.select(readers, [], [], 5.0)
            if self._closed.is_set():
                return
            if client in ready:
                client_open = _forward(client, channel, channel.shutdown_write)
            if channel in ready:
                channel_open = _forward(channel, client, lambda: _shut_write(client))


def _forward(
    source: socket.socket | paramiko.Channel,
    to: socket.socket | paramiko.Channel,
    shut: Callable[[], None],
) -> bool:
    """Pass on what ``source`` sent to ``to``; False once ``source`` has ended (``shut`` then
    tells ``to`` that nothing more comes)."""
    data = source.recv(65536)
    if data:
        to.sendall(data)
        return True
    shut()
    return False


def _shut_write(client: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the client may be gone already
        client.shutdown(socket.SHUT_WR)


class LoopGone(Exception):
    """The event loop stopped or closed before it started the work."""


def run_on_loop(
    loop: asyncio.AbstractEventLoop,
    make: Callable[[], Coroutine[Any, Any, T]],
    limit: float,
) -> T:
    """Run ``make()`` on ``loop`` (running in another thread) and wait for its result.

    The coroutine is made on the loop's own thread, when the loop takes the work up: a loop
    that stops or closes first raises :class:`LoopGone` (within a second) and no coroutine
    is left behind un-awaited. After ``limit`` seconds the work is cancelled and
    :class:`TimeoutError` raised.
    """
    future: concurrent.futures.Future[T] = concurrent.futures.Future()
    tasks: list[asyncio.Task[T]] = []

    def start() -> None:
        if not future.set_running_or_notify_cancel():
            return  # given up on before it started: nothing was made
        try:
            task = loop.create_task(make())
        except Exception as exc:  # handed to the waiting thread
            future.set_exception(exc)
            return
        tasks.append(task)
        task.add_done_callback(lambda done: _settle(future, done))

    try:
        loop.call_soon_threadsafe(start)
    except RuntimeError as exc:  # closed meanwhile
        raise LoopGone() from exc
    deadline = time.monotonic() + limit
    stopped_since: float | None = None
    while not future.done():
        now = time.monotonic()
        concurrent.futures.wait([future], timeout=min(1.0, max(0.0, deadline - now)))
        if future.done():
            break
        now = time.monotonic()
        if loop.is_running():
            stopped_since = None
        elif future.cancel():  # never taken up
            raise LoopGone()
        else:  # taken up, then the loop stopped: give it a moment to come back
            stopped_since = stopped_since or now
            if now - stopped_since > 5.0:
                raise ConnectionAbortedError("the event loop stopped")
        if now >= deadline:
            if not future.cancel() and tasks:  # running: stop it on its loop
                with contextlib.suppress(RuntimeError):  # closed: nothing runs any more
                    loop.call_soon_threadsafe(tasks[0].cancel)
            raise TimeoutError(f"no result within {limit:.0f} s")
    try:
        return future.result()
    except concurrent.futures.CancelledError as exc:
        raise ConnectionAbortedError("the event loop stopped") from exc


def _settle(future: concurrent.futures.Future[T], task: asyncio.Task[T]) -> None:
    if task.cancelled():
        future.set_exception(ConnectionAbortedError("the work was cancelled"))
    elif (error := task.exception()) is not None:
        future.set_exception(error)
    else:
        future.set_result(task.result())


def _answers(loop: asyncio.AbstractEventLoop, within: float = 2.0) -> bool:
    """Whether ``loop`` runs a trivial callback within ``within`` seconds (it is not blocked,
    e.g. by synchronous work on its own thread)."""
    done = threading.Event()
    try:
        loop.call_soon_threadsafe(done.set)
    except RuntimeError:  # closed meanwhile
        return False
    return done.wait(within)


async def open_tunnel(
    connection: Connection, remote_port: int, remote_host: str = "127.0.0.1"
) -> Tunnel:
    """Forward a free local port to ``remote_host:remote_port`` as the server sees it.

    Use as ``async with await open_tunnel(conn, 5432) as tunnel: … tunnel.conninfo(…) …``.
    The server's connection is made (and its host key checked) before this returns.
    """
    await connection.transport()
    tunnel = Tunnel(connection, remote_host, remote_port, asyncio.get_running_loop())
    tunnel.start()
    return tunnel
