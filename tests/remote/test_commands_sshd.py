"""Connections and commands against a throwaway sshd on 127.0.0.1 (fast, no lab needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pmc.remote import commands
from pmc.remote.commands import OutputLine
from pmc.remote.connection import Connection
from pmc.remote.errors import CommandFailed, CommandNotFound, CommandTimeout
from pmc.remote.host_keys import KnownHosts, TrustFingerprints
from tests.fixtures.sshd import ThrowawaySshd, own_sshd
from tests.remote.conftest import host_fingerprint, server_for, trusting_connection
from tests.wait import wait_until_async


def test_run_returns_status_and_output(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            result = await commands.run(conn, ["sh", "-c", "echo out; echo err >&2; exit 3"])
            assert (result.exit_status, result.stdout, result.stderr) == (3, "out\n", "err\n")
            quoted = await commands.run(conn, ["printf", "%s|", "a b", "$HOME", "'; rm -rf /"])
            assert quoted.stdout == "a b|$HOME|'; rm -rf /|"
            with pytest.raises(CommandFailed, match="exit status 3"):
                await commands.run(conn, ["sh", "-c", "exit 3"], check=True)
            assert conn.connects == 1  # one shared transport
        finally:
            await conn.close()

    asyncio.run(go())


def test_command_not_found_names_the_server(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            with pytest.raises(CommandNotFound) as caught:
                await commands.run(conn, ["no-such-program-pmc"])
            assert str(caught.value).startswith(f"main (127.0.0.1:{sshd.port}): command not found")
        finally:
            await conn.close()

    asyncio.run(go())


def test_lines_stream_as_they_arrive(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            marker = tmp_path / "go-on"
            script = f"echo first; while [ ! -e {marker} ]; do sleep 0.05; done; echo second >&2"
            seen: list[OutputLine] = []
            async for line in commands.stream(conn, script):
                seen.append(line)
                if line.text == "first":
                    # the second line can only come after the first one reached us
                    marker.touch()
            assert seen == [OutputLine("stdout", "first"), OutputLine("stderr", "second")]
        finally:
            await conn.close()

    asyncio.run(go())


def _alive(pid_file: Path) -> bool:
    pid = int(pid_file.read_text())
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text()


def test_timeout_stops_the_remote_process(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            with pytest.raises(CommandTimeout, match="command timeout"):
                await commands.run(conn, f"sleep 300 & echo $! > {pid_file}; wait", timeout=3)
            assert pid_file.exists(), "the command never ran: its time limit ended first"
            assert not _alive(pid_file)
            # the connection is still good for the next command
            assert (await commands.run(conn, ["true"])).ok
        finally:
            await conn.close()

    asyncio.run(go())


def test_cancel_stops_the_remote_process(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            task = asyncio.create_task(
                commands.run(conn, f"sleep 300 & echo $! > {pid_file}; echo started; wait")
            )
            await wait_until_async(
                lambda: pid_file.read_text().strip(),
                timeout=30,
                ignoring=(FileNotFoundError,),
                what="the remote sleep",
            )
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not _alive(pid_file)
        finally:
            await conn.close()

    asyncio.run(go())


def test_input_reaches_stdin(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            data = b"x" * 3_000_000
            result = await commands.run(conn, ["wc", "-c"], input=data)
            assert result.stdout.strip() == "3000000"
        finally:
            await conn.close()

    asyncio.run(go())


def test_many_concurrent_commands(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            results = await asyncio.gather(
                *(commands.run(conn, ["sh", "-c", f"sleep 0.2; echo {i}"]) for i in range(50))
            )
            assert [r.stdout.strip() for r in results] == [str(i) for i in range(50)]
        finally:
            await conn.close()

    asyncio.run(go())


def test_sessions_refused_at_once_are_each_waited_for(tmp_path: Path) -> None:
    """An sshd allowing fewer sessions than PMC opens refuses several opens at the same
    moment. paramiko keeps a refusal's reason in one place per transport: with opens racing,
    one refusal lost its reason and came out as "Unable to open channel.", a ConnectionLost
    (seen under load in the lab's fifty-commands test). Every command must still run."""

    async def go() -> list[str]:
        with own_sshd(tmp_path / "sshd", MaxSessions="4") as server:
            conn = Connection(
                server_for(server), cluster="lab", known_hosts=KnownHosts(tmp_path / "known"),
                trust=TrustFingerprints([host_fingerprint(server)]), max_sessions=6,
            )  # fmt: skip
            try:
                results = await asyncio.gather(
                    *(commands.run(conn, ["sh", "-c", f"sleep 0.05; echo {i}"]) for i in range(40))
                )
            finally:
                await conn.close()
            return [r.stdout.strip() for r in results]

    assert asyncio.run(go()) == [str(i) for i in range(40)]


def test_a_session_closed_as_the_line_goes_down_gives_its_slot_back(
    sshd: ThrowawaySshd, tmp_path: Path
) -> None:
    """paramiko's close raises EOFError when the socket died before the transport noticed
    (seen in CI: the command reader's thread raised it, the slot was never given back and
    the error sat in a future nobody read). Closing must not raise, and every slot must be
    free again: after it, as many sessions as the connection allows open at once."""

    async def go() -> int:
        conn = Connection(
            server_for(sshd), cluster="lab", known_hosts=KnownHosts(tmp_path / "known"),
            trust=TrustFingerprints([host_fingerprint(sshd)]), max_sessions=3,
        )  # fmt: skip
        try:
            channel = await conn.open_session()
            real_close = channel.close

            def line_down() -> None:
                real_close()
                raise EOFError  # what paramiko raised when its socket was gone

            channel.close = line_down  # type: ignore[method-assign]
            conn.close_session(channel)
            async with asyncio.timeout(30):
                opened = [await conn.open_session() for _ in range(3)]
            for each in opened:
                conn.close_session(each)
            return len(opened)
        finally:
            await conn.close()

    assert asyncio.run(go()) == 3


FLOODS = {
    "stdout": ("yes pmc-flood", None),
    "stderr": ("tr '\\0' x </dev/zero >&2", None),  # one line without end
    # no watch on the channel (it has input); the shell outlives the channel's end
    "after its input": ("cat >/dev/null; yes pmc-flood; sleep 60", b"input"),
}


@pytest.mark.parametrize("kind", list(FLOODS))
def test_a_command_that_floods_output_is_stopped(
    sshd: ThrowawaySshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A server sending output without end fails the command naming it and the server, and
    stops it there; before, PMC kept every byte until the command's time limit (or the
    desktop's memory) ran out."""
    monkeypatch.setattr(commands, "OUTPUT_LIMIT", 1 << 20)
    flood, data = FLOODS[kind]

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            near = (1 << 20) - 64  # the limit less the process group's id (the first line)
            fits = await commands.run(conn, ["head", "-c", str(near), "/dev/zero"])
            assert len(fits.stdout) == near
            with pytest.raises(CommandFailed) as caught:
                await commands.run(conn, ["sh", "-c", flood], input=data, timeout=60)
            said = str(caught.value)
            assert said.startswith(f"main (127.0.0.1:{sshd.port}): ")
            assert repr(commands.describe(["sh", "-c", flood])) in said
            assert "sent more than 1 MiB of output; it was stopped" in said
            await wait_until_async(
                lambda: not any(map(sshd.running, ("yes", "tr", "sleep"))),
                timeout=30,
                what="the flooding command to be stopped on the server",
            )
        finally:
            await conn.close()

    asyncio.run(go())


def test_a_command_that_ends_before_taking_its_input_says_why(
    sshd: ThrowawaySshd, tmp_path: Path
) -> None:
    # sudo's refusal of a write ends the command before it reads its input; seen under load as
    # "the SSH connection was lost … (Socket is closed)" instead of the command's own words
    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            argv = ["sh", "-c", "echo refused here >&2; exit 3"]
            result = await commands.run(conn, argv, input=bytes(64 << 20))  # > any SSH window
            assert (result.exit_status, result.stderr) == (3, "refused here\n")
            again = await commands.run(conn, ["echo", "still connected"], check=True)
            assert again.stdout == "still connected\n"
        finally:
            await conn.close()

    asyncio.run(go())
