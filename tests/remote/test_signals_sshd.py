"""A command killed by a signal is reported as such, and the connection stays usable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pmc.remote import commands
from pmc.remote.errors import CommandFailed
from tests.fixtures.sshd import ThrowawaySshd
from tests.remote.conftest import trusting_connection


def test_command_killed_by_a_signal(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            # the command itself is killed (setsid -w reports its child's raw wait status)
            killed = await commands.run(conn, ["sh", "-c", "echo before; kill -TERM $$"])
            assert (killed.signal, killed.exit_status, killed.ok) == ("TERM", 143, False)
            assert killed.ending == "killed by signal TERM"
            assert killed.stdout == "before\n" and killed.stderr == ""
            with pytest.raises(CommandFailed) as caught:
                await commands.run(conn, ["sh", "-c", "kill -KILL $$"], check=True)
            assert caught.value.signal == "KILL"
            assert str(caught.value).startswith(
                f"main (127.0.0.1:{sshd.port}): \"sh -c 'kill -KILL $$'\" was killed by signal KILL"
            )
            # the session's own process is killed: the server sends "exit-signal"
            top = await commands.run(conn, ["sh", "-c", "kill -TERM $PPID; sleep 0.2"])
            assert (top.signal, top.exit_status) == ("TERM", 143)
            # an ordinary exit status 143 is not a signal
            plain = await commands.run(conn, ["sh", "-c", "exit 143"])
            assert (plain.signal, plain.exit_status, plain.ending) == (None, 143, "exit status 143")
            # and the connection is still the same, usable one
            assert (await commands.run(conn, ["echo", "ok"])).stdout == "ok\n"
            assert conn.connects == 1
        finally:
            await conn.close()

    asyncio.run(go())


def test_streamed_command_killed_by_a_signal(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            seen: list[str] = []
            with pytest.raises(CommandFailed, match="killed by signal TERM"):
                async for line in commands.stream(conn, "echo one; kill -TERM $$; echo two"):
                    seen.append(line.text)
            assert seen == ["one"]  # setsid's own note is not shown as output
        finally:
            await conn.close()

    asyncio.run(go())
