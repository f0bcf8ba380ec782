"""Nothing PMC started runs on once its SSH session is gone (real OpenSSH, no mocks)."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from pathlib import Path

from pmc.remote import commands
from pmc.remote.connection import Timeouts
from tests.fixtures.sshd import ThrowawaySshd
from tests.remote.conftest import trusting_connection


def _running(marker: str) -> list[str]:
    """Processes on this machine whose command line holds ``marker``."""
    found = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True, check=False)
    return [line for line in found.stdout.splitlines() if "pgrep" not in line]


async def _started(marker: str) -> None:
    """Until the sleeper itself runs (named ``marker``: its wrapper has finished starting)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-f", f"^{marker} "], capture_output=True, check=False)
        if found.returncode == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the command did not start")


def _wait_gone(marker: str, limit: float = 30.0) -> list[str]:
    deadline = time.monotonic() + limit
    while (left := _running(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


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
    assert _wait_gone(marker) == []


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
            assert _wait_gone(marker) == []
            # the server ended the connection itself
            deadline = time.monotonic() + 30
            while conn.is_connected and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert not conn.is_connected
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
            result = await commands.run(conn, ["sh", "-c", "sleep 5; echo still here"])
            assert result.stdout == "still here\n"
            assert conn.connects == 1
        finally:
            await conn.close()

    asyncio.run(go())
