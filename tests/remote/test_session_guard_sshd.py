"""Nothing PMC started runs on once its SSH session is gone (real OpenSSH, no mocks)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

from pmc.remote import commands
from pmc.remote.limits import Timeouts
from tests.fixtures.sshd import ThrowawaySshd
from tests.remote.conftest import trusting_connection
from tests.wait import wait_until, wait_until_async


def _running(marker: str) -> list[str]:
    """Processes on this machine whose command line holds ``marker``."""
    found = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True, check=False)
    return [line for line in found.stdout.splitlines() if "pgrep" not in line]


async def _started(marker: str) -> None:
    """Until the sleeper itself runs (named ``marker``: its wrapper has finished starting)."""

    def running() -> bool:
        found = subprocess.run(["pgrep", "-f", f"^{marker} "], capture_output=True, check=False)
        return found.returncode == 0

    await wait_until_async(running, timeout=30, what=f"the command {marker} to start")


def _wait_gone(marker: str) -> None:
    wait_until(lambda: not _running(marker), timeout=30, what=f"no process of {marker} left")


def _sleeper() -> tuple[str, list[str]]:
    """A long command that neither reads its input nor writes: only a watch can stop it."""
    marker = f"pmc-orphan-{uuid.uuid4().hex[:8]}"
    return marker, ["bash", "-c", f"exec -a {marker} sleep 600"]


def test_a_command_dies_when_sshd_is_killed_under_it(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    """Every sshd process killed (SIGKILL: no clean-up of its own): the command's watch sees
    its channel's input end and stops the command."""
    marker, argv = _sleeper()

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            await commands.start(conn, argv, timeout=None)
            await _started(marker)
            sshd.stop(all_sessions=True)
        finally:
            await conn.close()

    asyncio.run(go())
    _wait_gone(marker)


def test_the_guard_ends_the_session_when_pmc_falls_silent(
    sshd: ThrowawaySshd, tmp_path: Path
) -> None:
    """No heartbeat for ``orphan_after`` seconds (a blocked link looks like this to the
    server): the guard ends the sshd process of PMC's connection, and the command with it."""
    marker, argv = _sleeper()
    silent = Timeouts(heartbeat=3600, keepalive_interval=3600, orphan_after=2)

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path, silent)
        try:
            await commands.start(conn, argv, timeout=None)
            await _started(marker)
            _wait_gone(marker)
            # the server ended the connection itself
            await wait_until_async(
                lambda: not conn.is_connected, timeout=30, what="the server to end the session"
            )
        finally:
            await conn.close()

    asyncio.run(go())
    assert "ending its SSH session" not in sshd.log_text()  # the guard's words go to PMC


def test_heartbeats_keep_a_quiet_session_alive(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    """With heartbeats every 0.2 s a guard that waits 2 s never fires, however long the
    command stays silent."""
    beating = Timeouts(heartbeat=0.2, keepalive_interval=3600, orphan_after=2)

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path, beating)
        try:
            # a deliberate quiet spell: 2.5 times the guard's patience, without output
            result = await commands.run(conn, ["sh", "-c", "sleep 5; echo still here"])
            assert result.stdout == "still here\n"
            assert conn.connects == 1
        finally:
            await conn.close()

    asyncio.run(go())
