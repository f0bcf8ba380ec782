"""A bulk pipe (see :mod:`pmc.bundle.pipe`) over the system's OpenSSH client: the same remote
command, process group and errors as :class:`~pmc.bundle.pipe.Pipe`, the bytes carried by an
``ssh`` process of its own (:mod:`pmc.remote.openssh` tells why, and how it logs in).

PMC reads the command's output from ``ssh``'s stdout and writes its input to ``ssh``'s stdin
(pipes of 1 MiB where the system allows), and keeps the command's stderr (what ``ssh`` says
of its own comes there too). ``ssh`` ends with the command's exit status, or 255 for a
failure of its own (login, lost link). The command's process group is stopped, as for
:class:`~pmc.bundle.pipe.Pipe`, over PMC's own connection to the server.

:func:`start` returns None when ``ssh`` cannot run the command (it did not log in, or the
command did not start): the caller then uses PMC's own SSH, which reports a real failure in
its own words.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import subprocess
import sys
import textwrap
import threading
import time

from pmc.bundle.pipe_stderr import StderrKept
from pmc.remote import openssh
from pmc.remote.commands import describe
from pmc.remote.connection import Connection
from pmc.remote.process_group import kill_group, wrap

if sys.platform != "win32":  # there is no OpenSSH client for PMC on Windows (openssh.client)
    import fcntl

log = logging.getLogger("pmc.remote")

READ_TIMEOUT = 120.0
_PIPE_SIZE = 1 << 20
_LOST = 255  # ssh's own failure (the link, the login), not the command's


class OpenSshPipe(StderrKept):
    """``argv`` running on the server as root, carried by a local ``ssh`` process."""

    def __init__(
        self,
        connection: Connection,
        process: subprocess.Popen[bytes],
        login: openssh.Login,
        command: str,
    ) -> None:
        super().__init__()
        self.connection = connection
        self.process = process
        self.command = command
        self.pgid: int | None = None
        self.ended = False
        self._login = login
        self._stdin = process.stdin
        self._stdout = process.stdout
        self._stderr_thread = threading.Thread(
            target=self._drain_stderr, name="pmc-ssh-stderr", daemon=True
        )
        self._stderr_thread.start()

    # --- start
    def _read_group_id(self, deadline: float) -> bool:
        head = b""
        while not head.endswith(b"\n") and len(head) < 32:
            byte = self._read_some(1, max(0.0, deadline - time.monotonic()))
            if not byte:
                return False
            head += byte
        text = head.strip()
        self.pgid = int(text) if text.isdigit() else None
        return self.pgid is not None

    def _drain_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        fd = stream.fileno()
        while chunk := os.read(fd, 65536):
            self.keep_stderr(chunk)

    @property
    def closed(self) -> bool:
        return self.ended or self.process.poll() is not None

    # --- blocking I/O (worker threads)
    def _read_some(self, size: int, timeout: float) -> bytes:
        assert self._stdout is not None
        fd = self._stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no output within {timeout:g} s")
        return os.read(fd, size)

    def read(self, size: int = 1 << 20, /) -> bytes:
        """Up to ``size`` bytes of stdout; b"" at its end."""
        try:
            data = self._read_some(size, READ_TIMEOUT)
        except TimeoutError as exc:
            raise self.connection.lost(
                exc, f"waiting {READ_TIMEOUT:g} s for output of {self.command}"
            ) from exc
        except OSError as exc:
            raise self.connection.lost(exc, f"reading from {self.command}") from exc
        if not data and self._wait(5) == _LOST:
            raise self._lost(f"reading from {self.command}")
        return data

    def write(self, data: bytes | memoryview) -> None:
        assert self._stdin is not None
        fd = self._stdin.fileno()
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            status = self._wait(5)
            if status in {None, _LOST}:
                raise self._lost(f"writing to {self.command}") from exc
            raise self.failed(status, stopped_reading=True) from exc

    def close_stdin(self) -> None:
        if self._stdin is not None:
            with contextlib.suppress(OSError):
                self._stdin.close()

    def finish(self, *, check: bool = True) -> int:
        """Waits for the end (reading what is left of stdout); the exit status."""
        while self.read(1 << 16):
            pass
        self.close_stdin()
        status = self._wait(None)
        assert status is not None
        self.ended = True
        self._close()
        if status == _LOST:
            raise self._lost(f"running {self.command}")
        if check and status != 0:
            raise self.failed(status)
        return status

    def _wait(self, timeout: float | None) -> int | None:
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._stderr_thread.join(2)
        return status

    def _lost(self, doing: str) -> Exception:
        said = self.stderr.strip().splitlines()
        return self.connection.lost(OSError(said[-1] if said else "ssh ended"), doing)

    def _close(self) -> None:
        """Close PMC's ends of the pipes and the private folder (``ssh`` has ended, or is
        ending: it is waited for)."""
        for stream in (self._stdin, self._stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._login.close()
        if self._wait(10) is None:  # pragma: no cover - ssh ends once its pipes are closed
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self._wait(None)
        if self.process.stderr is not None:
            self.process.stderr.close()

    # --- async control
    async def abort(self) -> None:
        """Stops the remote process group and the local ``ssh`` (for cancel and errors)."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        await asyncio.to_thread(self._close)
        if self.pgid is not None and not self.ended:
            with contextlib.suppress(Exception):
                await kill_group(self.connection, self.pgid)
        self.ended = True


def _widen(fd: int) -> None:
    """A pipe of 1 MiB instead of 64 KiB (Linux): fewer, larger reads and writes."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)


def _open(connection: Connection, path: str, argv: list[str]) -> OpenSshPipe | None:
    """Blocking: ``argv`` started over ``ssh``, or None (see the module's text)."""
    tied = connection.session_pid()  # what the session guard ends (session_guard.TIED)
    login = openssh.login(connection, path)
    line = wrap(connection, argv, root=True, tied=tied)
    try:
        process = subprocess.Popen(
            [*login.argv, line],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=login.env,
            bufsize=0,
            start_new_session=True,
        )
    except OSError as exc:
        login.close()
        log.warning("%s: OpenSSH client could not start (%s)", connection.label, exc)
        return None
    assert process.stdin is not None and process.stdout is not None
    _widen(process.stdin.fileno())
    _widen(process.stdout.fileno())
    pipe = OpenSshPipe(connection, process, login, describe(argv))
    timeouts = connection.timeouts
    deadline = time.monotonic() + timeouts.connect + timeouts.banner + timeouts.auth
    login.answer_once(process, deadline)
    try:
        started = pipe._read_group_id(deadline)
    except (TimeoutError, OSError):
        started = False
    if started:
        what = textwrap.shorten(pipe.command, 100, placeholder=" …")
        log.info("%s: %s runs over the OpenSSH client (%s)", connection.label, what, path)
        return pipe
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    pipe._close()
    said = pipe.stderr.strip().splitlines()
    log.warning(
        "%s: the OpenSSH client could not run %s (%s); PMC's own SSH carries it instead",
        connection.label,
        pipe.command,
        said[-1] if said else f"exit status {process.returncode}",
    )
    return None


async def start(connection: Connection, argv: list[str]) -> OpenSshPipe | None:
    """``argv`` over the system's OpenSSH client, or None where there is none PMC may use
    or it could not run the command."""
    path = openssh.client()
    if path is None:
        return None
    await connection.transport()  # the host key is checked (and asked about) first
    return await connection.in_thread(connection.executors.control, _open, connection, path, argv)
