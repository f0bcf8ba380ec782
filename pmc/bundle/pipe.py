"""A remote process with binary stdin and stdout over one SSH channel, for bulk transfers.

The command lines of :mod:`pmc.remote.commands` are line-oriented text; a bundle moves
gigabytes of binary data (``tar -cf -``, ``psql`` COPY output) with bounded memory: SSH's flow
control window (8 MiB) is the only buffer, and every read or write here is a blocking call
meant for a worker thread. The process runs in its own process group (the same wrapper as
:mod:`pmc.remote.commands`) so that :meth:`Pipe.abort` really stops it.
"""

from __future__ import annotations

import asyncio
import contextlib

import paramiko

from pmc.bundle import openssh_pipe
from pmc.bundle.openssh_pipe import OpenSshPipe
from pmc.bundle.pipe_stderr import StderrKept
from pmc.remote import bulk
from pmc.remote.commands import describe
from pmc.remote.connection import Connection
from pmc.remote.process_group import GroupChannel, kill_group, wrap

READ_TIMEOUT = 120.0


class Pipe(GroupChannel, StderrKept):
    """``argv`` running on the server as root; read its stdout, write its stdin."""

    def __init__(self, connection: Connection, channel: paramiko.Channel, command: str) -> None:
        GroupChannel.__init__(self, connection, channel, command)
        StderrKept.__init__(self)

    @classmethod
    async def start(cls, connection: Connection, argv: list[str]) -> Pipe:
        channel = await connection.open_session()
        bulk.prepare(channel)
        channel.settimeout(READ_TIMEOUT)
        line = wrap(connection, argv, root=True)
        pipe = cls(connection, channel, describe(argv))
        try:
            await connection.in_thread(connection.executors.control, channel.exec_command, line)
            await connection.in_thread(connection.executors.control, pipe.read_group_id)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            connection.close_session(channel)
            raise connection.lost(exc, f"starting {pipe.command}") from exc
        return pipe

    @property
    def closed(self) -> bool:
        return bool(self.channel.closed)

    # --- blocking I/O (worker threads)
    def read(self, size: int = 1 << 20, /) -> bytes:
        """Up to ``size`` bytes of stdout; b"" at its end."""
        try:
            data: bytes = self.channel.recv(size)
        except TimeoutError as exc:
            raise self.connection.lost(
                exc, f"waiting {READ_TIMEOUT:g} s for output of {self.command}"
            ) from exc
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self.connection.lost(exc, f"reading from {self.command}") from exc
        self._take_stderr()
        if not data and self.channel.closed and not self.channel.eof_received:
            raise self.connection.lost(None, f"reading from {self.command}")
        return data

    def write(self, data: bytes) -> None:
        try:
            bulk.send_all(self.channel, data)
        except (TimeoutError, paramiko.SSHException, EOFError, OSError) as exc:
            transport = self.channel.get_transport()
            if transport is not None and transport.is_active():
                # the remote program ended (an error of its own): report it, keep the link
                self.channel.status_event.wait(5)
                self._take_stderr()
                status = self.channel.exit_status if self.channel.exit_status_ready() else -1
                raise self.failed(status, stopped_reading=True) from exc
            raise self.connection.lost(exc, f"writing to {self.command}") from exc
        self._take_stderr()

    def close_stdin(self) -> None:
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            self.channel.shutdown_write()

    def _take_stderr(self) -> None:
        while self.channel.recv_stderr_ready():
            self.keep_stderr(self.channel.recv_stderr(65536))

    def finish(self, *, check: bool = True) -> int:
        """Waits for the end (reading what is left of stdout); the exit status."""
        while self.read(1 << 16):
            pass
        while not self.channel.exit_status_ready():
            transport = self.channel.get_transport()
            if transport is None or not transport.is_active():
                raise self.connection.lost(None, f"running {self.command}")
            self.channel.status_event.wait(0.2)
        status = self.channel.recv_exit_status()
        self._take_stderr()
        self.ended = True
        self.connection.close_session(self.channel)
        if check and status != 0:
            raise self.failed(status)
        return int(status)

    # --- async control
    async def abort(self) -> None:
        """Stops the remote process group and closes the channel (for cancel and errors)."""
        self.connection.close_session(self.channel)
        if self.pgid is not None and not self.ended:
            with contextlib.suppress(Exception):
                await kill_group(self.connection, self.pgid)


BulkPipe = Pipe | OpenSshPipe


async def start_bulk(connection: Connection, argv: list[str], *, big: bool) -> BulkPipe:
    """A pipe for a data folder's ``tar`` or a stream of big files' parts: when it carries
    much (``big``), over the system's OpenSSH client where PMC may use one
    (:mod:`pmc.bundle.openssh_pipe`: a login of its own, worth it for hundreds of MB), else
    over PMC's own SSH connection."""
    if big and (pipe := await openssh_pipe.start(connection, argv)) is not None:
        return pipe
    return await Pipe.start(connection, argv)


async def start_all(commands: list[tuple[Connection, list[str]]]) -> list[BulkPipe]:
    """Big pipes (:func:`start_bulk`), one per (connection, argv), started at once: each
    start over the OpenSSH client is a login of its own (0.2 s on the lab), so the streams of
    big files no longer wait for each other's. All or none: when one does not start (or the
    caller is cancelled), those that did are stopped and the first error is raised."""
    tasks = [asyncio.ensure_future(start_bulk(c, argv, big=True)) for c, argv in commands]
    try:
        await asyncio.wait(tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
        await _abort_started(tasks)
        raise
    errors = [e for t in tasks if (e := t.exception()) is not None]
    if errors:
        await _abort_started(tasks)
        raise errors[0]
    return [t.result() for t in tasks]


async def _abort_started(tasks: list[asyncio.Task[BulkPipe]]) -> None:
    for task in tasks:
        if not task.cancelled() and task.exception() is None:
            with contextlib.suppress(Exception):
                await task.result().abort()
