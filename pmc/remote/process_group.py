"""Every command PMC runs on a server runs in a process group of its own (``setsid -w``), whose
id is the first line the server sends back: :func:`wrap` builds that command line,
:func:`signal_of` tells the signal that killed a command, :func:`kill_group` stops the group
(closing a channel does not stop a remote process, paramiko #785); :class:`GroupChannel` is
an exec channel running such a command, for the pipes of bulk transfers."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
from collections.abc import Sequence

import paramiko

from pmc.remote.connection import Connection
from pmc.remote.exit_signals import SIGNAL_NAMES, exit_signal
from pmc.remote.session_guard import TIED, WATCHED

Command = Sequence[str] | str

# util-linux setsid -w, when its child did not exit normally: the exit status is the raw wait
# status (signal number, +128 with a core dump). Same text since util-linux 2.23 (Rocky 8: 2.32).
SETSID_SIGNALLED = re.compile(r"^setsid: child \d+ did not exit normally")


def wrap(
    connection: Connection,
    command: Command,
    *,
    root: bool = False,
    watch: bool = False,
    tied: int | None = None,
) -> str:
    """The remote command line: in its own process group, reporting the group id first.
    ``watch``: the command gets no input, and its group is stopped when the channel's input
    ends while it still runs (:data:`pmc.remote.session_guard.WATCHED`): keep the channel's
    input open until the command has ended. ``tied``: its group is stopped when the server's
    process ``tied`` ends while it still runs (:data:`pmc.remote.session_guard.TIED`)."""
    argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
    if not argv:
        raise ValueError("empty command")
    if tied is not None:
        full = ["setsid", "-w", "sh", "-c", TIED, "pmc", str(tied), *argv]
    else:
        script = WATCHED if watch else 'echo "$$"; exec "$@"'
        full = ["setsid", "-w", "sh", "-c", script, "pmc", *argv]
    if root:
        full = connection.as_root(full)
    return shlex.join(full)


def signal_of(channel: paramiko.Channel, status: int, stderr: str) -> tuple[str | None, int, str]:
    """``(signal, status, stderr)`` for a raw channel: the signal that killed the command
    (from the server's exit-signal or setsid's note, which is taken out of ``stderr``)."""
    signalled = exit_signal(channel)
    if signalled is not None:
        return signalled, status, stderr
    lines = stderr.splitlines(keepends=True)
    kept = [line for line in lines if not SETSID_SIGNALLED.match(line)]
    if len(kept) != len(lines) and 0 < status < 256:
        number = status & 0x7F
        return SIGNAL_NAMES.get(number, str(number)), 128 + number, "".join(kept)
    return None, status, stderr


async def kill_group(connection: Connection, pgid: int) -> None:
    """Stop the remote process group ``pgid``: TERM, then KILL if it lives on after 3 s."""
    kill = (
        f"kill -s TERM -- -{pgid} 2>/dev/null || exit 0; i=0; "
        f"while kill -s 0 -- -{pgid} 2>/dev/null; do i=$((i+1)); "
        f'[ "$i" -ge 30 ] && {{ kill -s KILL -- -{pgid}; exit 0; }}; sleep 0.1; done'
    )
    argv = connection.as_root(["sh", "-c", kill])
    with contextlib.suppress(Exception):
        async with asyncio.timeout(10):
            await _run_plain(connection, shlex.join(argv))


async def _run_plain(connection: Connection, line: str) -> int:
    """Run ``line`` without a process group (used to stop other commands)."""
    channel = await connection.open_session(slot=False)

    def go() -> int:
        try:
            channel.exec_command(line)
            channel.shutdown_write()
            while channel.recv(65536):
                pass
            return channel.recv_exit_status()
        finally:
            channel.close()

    return await connection.in_thread(connection.executors.control, go)


class GroupChannel:
    """An exec channel whose command :func:`wrap` put in a process group of its own: the
    pipes of bulk transfers (:class:`pmc.bundle.pipe.Pipe`, :mod:`pmc.remote.files`)."""

    def __init__(self, connection: Connection, channel: paramiko.Channel, command: str) -> None:
        self.connection = connection
        self.channel = channel
        self.command = command  # as messages name it
        self.pgid: int | None = None
        self.ended = False  # the command has ended: no group is left to stop

    def read_group_id(self) -> None:
        """Read the command's first line (blocking): its process group's id, kept in
        :attr:`pgid`; None when the line is not one (the wrapper did not start)."""
        head = b""
        while not head.endswith(b"\n") and len(head) < 32:
            byte = self.channel.recv(1)
            if not byte:
                break
            head += byte
        text = head.strip()
        self.pgid = int(text) if text.isdigit() else None
