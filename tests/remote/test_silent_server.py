"""A server that accepts TCP on its SSH port and never speaks (a hung sshd, a wrong port with
something else listening) is Unreachable with its address — never a raw paramiko error, which
the status table would show as a crash of the whole refresh."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from pmc.inventory import Server
from pmc.remote import commands
from pmc.remote.connection import Connection, Timeouts
from pmc.remote.errors import Unreachable
from pmc.remote.host_keys import KnownHosts, RefuseUnknown


@pytest.fixture
def silent_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield listener.getsockname()[1]


def _run(port: int, tmp_path: Path) -> None:
    server = Server("backup", "127.0.0.1", ssh_port=port)
    conn = Connection(
        server, known_hosts=KnownHosts(tmp_path / "known_hosts"), trust=RefuseUnknown(),
        timeouts=Timeouts(banner=0.5),
    )  # fmt: skip

    async def go() -> None:
        try:
            await commands.run(conn, ["true"])
        finally:
            await conn.close()

    asyncio.run(go())


def test_a_silent_server_is_unreachable(silent_port: int, tmp_path: Path) -> None:
    with pytest.raises(Unreachable, match=rf"no SSH handshake with 127.0.0.1:{silent_port}"):
        _run(silent_port, tmp_path)


def test_a_handshake_that_timed_out_without_an_error_is_unreachable(
    silent_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """paramiko's start_client returns quietly when its own timeout passes before the banner
    timeout fires: there is no session then, and the next call raises SSHException."""
    monkeypatch.setattr(
        paramiko.Transport, "start_client", lambda self, event=None, timeout=None: None
    )
    with pytest.raises(Unreachable, match="No existing session"):
        _run(silent_port, tmp_path)
