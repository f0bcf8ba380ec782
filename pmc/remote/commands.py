"""Running commands on a server: output line by line as it arrives, exit status, time limits,
and a cancel that really stops the remote process.

Every command runs as ``setsid -w sh -c 'echo $$; exec "$@"' pmc ARGV…``: it gets its own
process group, whose id is the first line the server sends back. Closing a channel does not
stop a remote process (paramiko #785), so on a timeout or a cancel PMC kills that group over a
second channel. Commands are argument lists, quoted with :func:`shlex.quote`; a plain string is
run by ``sh -c`` and must have been built with quoting already.

A command killed by a signal is reported as such (``CommandResult.signal``, "killed by signal
TERM"), never as a lost connection: ``setsid -w`` says "child N did not exit normally" and
exits with the raw wait status, and when the session's own process is killed the server sends
an "exit-signal" request (recorded by :mod:`pmc.remote.connection`).
"""

from __future__ import annotations

import asyncio
import codecs
import select
import shlex
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Literal

import paramiko

from pmc.remote import bulk
from pmc.remote.connection import Connection
from pmc.remote.errors import (
    CommandFailed,
    CommandNotFound,
    CommandTimeout,
    PermissionDenied,
)
from pmc.remote.exit_signals import SIGNAL_NAMES, exit_signal
from pmc.remote.process_group import SETSID_SIGNALLED, Command, kill_group, wrap
from pmc.remote.sudo import check_sudo

Stream = Literal["stdout", "stderr"]
_DEFAULT: float = -1.0
# The most output (stdout and stderr) one command may send, all kept in memory: the largest of
# normal work, a data folder's listing (~100 bytes a file), holds some 2 million files in it.
OUTPUT_LIMIT = 256 << 20


@dataclass(frozen=True)
class OutputLine:
    stream: Stream
    text: str  # without the line end


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_status: int
    stdout: str
    stderr: str
    signal: str | None = None  # "TERM", "KILL"… when the command was killed by a signal

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and self.signal is None

    @property
    def ending(self) -> str:
        """How it ended, in words: ``exit status 3`` or ``killed by signal TERM``."""
        if self.signal is not None:
            return f"killed by signal {self.signal}"
        return f"exit status {self.exit_status}"


def describe(command: Command) -> str:
    """The command as an operator would type it (for messages and logs)."""
    return command if isinstance(command, str) else shlex.join(command)


class RunningCommand:
    """A command started on a server. Iterate it for its lines; ``result`` once it ended."""

    def __init__(
        self,
        connection: Connection,
        command: Command,
        *,
        root: bool = False,
        input: bytes | None = None,
        timeout: float | None = _DEFAULT,
    ) -> None:
        self.connection = connection
        self.command = describe(command)
        self._line = wrap(connection, command, root=root, watch=input is None)
        self._root = root
        self._input = input
        if timeout == _DEFAULT:
            timeout = connection.timeouts.command
        self.timeout = timeout
        self.pgid: int | None = None
        self.exit_status: int | None = None
        self.signal: str | None = None
        self._setsid_signalled = False
        self._channel: paramiko.Channel | None = None
        self._queue: asyncio.Queue[OutputLine | int | BaseException] = asyncio.Queue()
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._deadline = 0.0
        self._reader: asyncio.Future[None] | None = None
        self._stopping = False

    async def start(self) -> RunningCommand:
        loop = asyncio.get_running_loop()
        channel = await self.connection.open_session()
        self._channel = channel
        try:
            await self.connection.in_thread(
                self.connection.executors.control, channel.exec_command, self._line
            )
        except BaseException as exc:
            self.connection.close_session(channel)
            if isinstance(exc, paramiko.SSHException | EOFError | OSError):
                raise self.connection.lost(exc, f"starting {self.command}") from exc
            raise
        # The command's own time starts now: connecting and opening the session have their
        # own limits (Timeouts.connect, .auth, .channel), and a loaded machine must not eat
        # a short command's time with them.
        self._deadline = loop.time() + (self.timeout if self.timeout is not None else 1e12)
        self._reader = loop.run_in_executor(
            self.connection.executors.commands, self._read, loop, channel
        )
        return self

    def __aiter__(self) -> AsyncIterator[OutputLine]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[OutputLine]:
        while True:
            item = await self._next()
            if isinstance(item, OutputLine):
                yield item
                continue
            if isinstance(item, BaseException):
                if isinstance(item, _TooMuchOutput):
                    await self.stop()
                    raise self._too_much() from None
                raise item
            self._settle(item)
            self._judge()
            return

    async def _next(self) -> OutputLine | int | BaseException:
        loop = asyncio.get_running_loop()
        remaining = self._deadline - loop.time()
        try:
            if remaining <= 0:
                raise TimeoutError
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that
            # meets a line arriving in the same moment, and the command then ran on.
            async with asyncio.timeout(remaining):
                return await self._queue.get()
        except TimeoutError:
            await self.stop()
            raise CommandTimeout(
                f"{self.command!r} did not finish within {self.timeout:g} s (command timeout); "
                "it was stopped",
                server=self.connection.label,
                hint="Run it again with a longer time limit if the server is just slow",
            ) from None
        except asyncio.CancelledError:
            await asyncio.shield(self.stop())
            raise

    async def wait(self) -> CommandResult:
        """Wait for the end (collecting the output) and return the result."""
        async for _line in self:
            pass
        return self.result

    @property
    def result(self) -> CommandResult:
        assert self.exit_status is not None, "the command has not ended yet"
        return CommandResult(
            self.command,
            self.exit_status,
            "".join(self._stdout),
            "".join(self._stderr),
            self.signal,
        )

    def _settle(self, status: int) -> None:
        """Record the exit status; a signal reported by the server or by setsid is named."""
        channel = self._channel
        signalled = exit_signal(channel) if channel is not None else None
        if signalled is not None:
            self.signal = signalled
        elif self._setsid_signalled and 0 < status < 256:
            number = status & 0x7F
            self.signal = SIGNAL_NAMES.get(number, str(number))
            status = 128 + number
        self.exit_status = status

    def _judge(self) -> None:
        stderr = "".join(self._stderr)
        if self.signal is not None:
            return
        if self.exit_status != 0 and self._root:
            check_sudo(self.connection, stderr)
        if self.exit_status == 127 and self.pgid is not None:
            program = self.command.split()[0] if self.command else "?"
            raise CommandNotFound(
                f"command not found: {program} ({stderr.strip()[-200:]})",
                server=self.connection.label,
                hint="Install it on the server, or check the path in the server's layout",
            )
        if self.exit_status == 126:
            raise PermissionDenied(
                f"{self.command!r} cannot be run: {stderr.strip()[-200:]}",
                server=self.connection.label,
                hint="Check the file's execute permission and the login user's rights",
            )

    async def stop(self) -> None:
        """Stop the remote process group (TERM, then KILL after 3 s) and close the channel."""
        self._stopping = True
        if self.pgid is not None and self.exit_status is None:
            await kill_group(self.connection, self.pgid)
        self.close()

    def close(self) -> None:
        """Close the channel without waiting for the command: its watch on the channel
        (:data:`pmc.remote.session_guard.WATCHED`) stops its process group on the server."""
        self._stopping = True
        if self._channel is not None:
            self.connection.close_session(self._channel)

    # ---- reader thread ------------------------------------------------------------------

    def _read(self, loop: asyncio.AbstractEventLoop, channel: paramiko.Channel) -> None:
        put = self._queue.put_nowait

        def emit(item: OutputLine | int | BaseException) -> None:
            loop.call_soon_threadsafe(put, item)

        try:
            if self._input is not None:
                _send_input(channel, self._input)
            # without input, the channel's input open while the command runs: its end stops it
            out = _LineSplitter("stdout", self._stdout, emit, first_line=self._got_pgid)
            err = _LineSplitter("stderr", self._stderr, emit, hold_back=self._held_back)
            fd = channel.fileno()
            left = OUTPUT_LIMIT
            while True:
                select.select([fd], [], [], 1.0)
                while channel.recv_stderr_ready() and left >= 0:
                    data = channel.recv_stderr(65536)
                    left -= len(data)
                    err.feed(data)
                if channel.recv_ready() and left >= 0:
                    data = channel.recv(65536)
                    left -= len(data)
                    if data:
                        out.feed(data)
                        continue
                if left < 0:
                    emit(_TooMuchOutput())
                    return
                if channel.eof_received and not channel.recv_ready():
                    while channel.recv_stderr_ready():
                        err.feed(channel.recv_stderr(65536))
                    break
                if channel.closed:
                    break
            out.flush()
            err.flush()
            status = self._exit_status(channel)
            emit(status)
        except Exception as exc:  # reported to the consumer, never lost in the thread
            if self._stopping:
                emit(-1)
            else:
                emit(self.connection.lost(exc, f"running {self.command}"))
        finally:
            self.connection.close_session(channel)

    def _too_much(self) -> CommandFailed:
        return CommandFailed(
            f"{self.command!r} sent more than {OUTPUT_LIMIT >> 20} MiB of output; it was stopped",
            server=self.connection.label, exit_status=-1, stderr="".join(self._stderr)[-300:],
            hint="See what that command prints when run on the server by hand",
        )  # fmt: skip

    def _exit_status(self, channel: paramiko.Channel) -> int | BaseException:
        while not channel.status_event.wait(0.1):
            if self._stopping:
                return -1
            if channel.closed:
                break
        if channel.status_event.is_set() and channel.recv_exit_status() != -1:
            return channel.recv_exit_status()
        if self._stopping:
            return -1
        return self.connection.lost_channel(f"running {self.command}")

    def _held_back(self, text: str) -> bool:
        """setsid's own note about a signalled child is not the command's output."""
        if SETSID_SIGNALLED.match(text):
            self._setsid_signalled = True
            return True
        return False

    def _got_pgid(self, text: str) -> bool:
        if self.pgid is None and text.isdigit():
            self.pgid = int(text)
            return True
        return False


def _send_input(channel: paramiko.Channel, data: bytes) -> None:
    """A command's input, then its end; a command that ended before it took it all (sudo's
    refusal) says why in its exit status and stderr: that is no lost connection."""
    try:
        bulk.send_all(channel, data)
        channel.shutdown_write()
    except (OSError, EOFError, paramiko.SSHException):
        transport = channel.get_transport()
        if transport is None or not transport.is_active():
            raise


class _TooMuchOutput(Exception):
    """The command passed :data:`OUTPUT_LIMIT` (raised as CommandFailed once stopped)."""


class _LineSplitter:
    def __init__(
        self,
        stream: Stream,
        keep: list[str],
        emit: Callable[[OutputLine | int | BaseException], None],
        first_line: Callable[[str], bool] | None = None,
        hold_back: Callable[[str], bool] | None = None,
    ) -> None:
        self.stream: Stream = stream
        self.keep = keep
        self.emit = emit
        self.first_line = first_line
        self.hold_back = hold_back
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending = ""

    def feed(self, data: bytes) -> None:
        self.pending += self.decoder.decode(data)
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self._line(line, "\n")

    def flush(self) -> None:
        self.pending += self.decoder.decode(b"", final=True)
        if self.pending:
            self._line(self.pending, "")
            self.pending = ""

    def _line(self, text: str, end: str) -> None:
        if self.first_line is not None:
            hook, self.first_line = self.first_line, None
            if hook(text):
                return
        if self.hold_back is not None and self.hold_back(text):
            return
        self.keep.append(text + end)
        self.emit(OutputLine(self.stream, text.removesuffix("\r")))


async def start(
    connection: Connection,
    command: Command,
    *,
    root: bool = False,
    input: bytes | None = None,
    timeout: float | None = _DEFAULT,
) -> RunningCommand:
    """Start ``command``; iterate the result for its output lines."""
    running = RunningCommand(connection, command, root=root, input=input, timeout=timeout)
    return await running.start()


async def run(
    connection: Connection,
    command: Command,
    *,
    root: bool = False,
    input: bytes | None = None,
    timeout: float | None = _DEFAULT,
    check: bool = False,
    on_line: Callable[[OutputLine], None] | None = None,
) -> CommandResult:
    """Run ``command`` to its end; ``on_line`` sees each output line as it arrives.

    ``root`` runs it through ``sudo -n`` for a non-root login. ``check`` turns a non-zero
    exit status into :class:`CommandFailed`.
    """
    running = await start(connection, command, root=root, input=input, timeout=timeout)
    async for line in running:
        if on_line is not None:
            on_line(line)
    result = running.result
    if check and not result.ok:
        raise failed(connection, result)
    return result


def failed(connection: Connection, result: CommandResult) -> CommandFailed:
    """The error for a command that did not succeed: its exit status or signal, and output."""
    tail = result.stderr.strip()[-300:] or result.stdout.strip()[-300:]
    if result.signal is not None:
        return CommandFailed(
            f"{result.command!r} was {result.ending}" + (f": {tail}" if tail else ""),
            server=connection.label,
            exit_status=result.exit_status,
            stderr=result.stderr,
            signal=result.signal,
            hint="Something on the server stopped it (an operator, a watchdog or the OOM "
            "killer); the SSH connection is fine. See the server's logs, then run it again",
        )
    return CommandFailed(
        f"{result.command!r} failed with {result.ending}: {tail}",
        server=connection.label,
        exit_status=result.exit_status,
        stderr=result.stderr,
    )


async def stream(
    connection: Connection,
    command: Command,
    *,
    root: bool = False,
    timeout: float | None = _DEFAULT,
    check: bool = True,
) -> AsyncIterator[OutputLine]:
    """Yield the output lines of ``command`` as they arrive; a failure raises at the end."""
    running = await start(connection, command, root=root, timeout=timeout)
    try:
        async for line in running:
            yield line
    finally:
        if running.exit_status is None:
            await asyncio.shield(running.stop())
    if check and not running.result.ok:
        raise failed(connection, running.result)
