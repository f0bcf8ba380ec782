"""Tunnels, probes and status parsing against a throwaway sshd on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import socket
import socketserver
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmc.remote.services import Filesystem, parse_df, parse_status
from pmc.remote.tunnels import Tunnel, open_tunnel
from tests.fixtures.other_user import PYTHON, as_other_user, require_other_user
from tests.fixtures.sshd import ThrowawaySshd
from tests.remote.conftest import trusting_connection


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data.upper())


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _talk(tunnel: Tunnel, text: bytes) -> bytes:
    with socket.socket(tunnel.family, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(tunnel.local_address)
        sock.sendall(text)
        sock.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
        return got


def test_tunnel_carries_concurrent_connections(
    sshd: ThrowawaySshd, tmp_path: Path, echo_port: int
) -> None:
    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            async with await open_tunnel(conn, echo_port) as tunnel:
                texts = [f"hello {i} ".encode() * 20000 for i in range(8)]
                answers = await asyncio.gather(
                    *(asyncio.to_thread(_talk, tunnel, t) for t in texts)
                )
                assert answers == [t.upper() for t in texts]
                assert tunnel.connections_served == 8
            with pytest.raises(OSError):
                _talk(tunnel, b"closed")
        finally:
            await conn.close()

    asyncio.run(go())


def test_tunnel_reconnect_after_a_drop_refuses_a_changed_host_key(
    sshd: ThrowawaySshd, tmp_path: Path, echo_port: int
) -> None:
    from pmc.remote.errors import HostKeyChanged

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            async with await open_tunnel(conn, echo_port) as tunnel:
                assert await asyncio.to_thread(_talk, tunnel, b"one") == b"ONE"
                # the link drops and the server comes back with another host key
                sshd.stop()
                sshd.regenerate_host_key()
                log_before = len(sshd.log_text())
                sshd.start()
                try:
                    got = await asyncio.to_thread(_talk, tunnel, b"two")
                except ConnectionResetError:  # closed with our bytes unread
                    got = b""
                assert got == b""  # closed at once: nothing carried
                assert isinstance(tunnel.last_error, HostKeyChanged), tunnel.last_error
                assert tunnel.refused == 1 and tunnel.connections_served == 1
                assert conn.connects == 1  # no second login happened
                new_log = sshd.log_text()[log_before:]
                assert "Accepted" not in new_log and "Failed" not in new_log
        finally:
            await conn.close()

    asyncio.run(go())


def test_tunnel_reconnects_through_the_trust_path(
    sshd: ThrowawaySshd, tmp_path: Path, echo_port: int
) -> None:
    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            async with await open_tunnel(conn, echo_port) as tunnel:
                assert await asyncio.to_thread(_talk, tunnel, b"one") == b"ONE"
                sshd.stop()
                sshd.start()  # same key: the next forwarded connection reconnects
                assert await asyncio.to_thread(_talk, tunnel, b"two") == b"TWO"
                assert conn.connects == 2 and tunnel.last_error is None
        finally:
            await conn.close()

    asyncio.run(go())


RUNNING = """\
● playout-api.service - Playout API
     Loaded: loaded (/etc/systemd/system/playout-api.service; enabled; vendor preset: disabled)
     Active: active (running) since Tue 2026-11-24 09:12:03 UTC; 1 day 2h ago
   Main PID: 1234 (node)
"""

FAILED = """\
× postgresql.service - PostgreSQL database server
     Loaded: loaded (/usr/lib/systemd/system/postgresql.service; enabled)
     Active: failed (Result: exit-code) since Wed 2026-11-25 21:30:00 UTC; 5s ago
"""


def test_df_lines_whose_free_bytes_are_no_plain_number_tell_nothing() -> None:
    # the import's space check: a garbled line names no filesystem (then "cannot tell the free
    # space of …: df said …"), never a Python error out of the check
    good = "/opt/playout/data\t/dev/vda 264212084 32820688 73570224 31% /\n"
    assert parse_df(good) == {"/opt/playout/data": Filesystem("/", 73570224)}
    for free in ("7²", "9" * 5000, "-5", "12.5"):
        assert parse_df(good.replace("73570224", free)) == {}, free[:10]


def test_status_text_is_parsed() -> None:
    running = parse_status("playout-api.service", RUNNING)
    assert (running.load_state, running.active_state, running.sub_state) == (
        "loaded", "active", "running",
    )  # fmt: skip
    assert running.main_pid == 1234 and running.since == "Tue 2026-11-24 09:12:03 UTC"
    assert running.is_running
    failed = parse_status("postgresql", FAILED)
    assert (failed.active_state, failed.sub_state) == ("failed", "Result: exit-code")
    missing = parse_status("nope", "Unit nope.service could not be found.\n")
    assert not missing.exists and not missing.is_running
    # a Main PID thousands of digits long is no pid; before, ValueError out of the status
    garbled = parse_status("playout-api.service", RUNNING.replace("1234", "1" * 5000))
    assert garbled.main_pid is None and garbled.is_running


def test_tunnel_is_not_usable_by_another_local_user(
    sshd: ThrowawaySshd, tmp_path: Path, echo_port: int
) -> None:
    """The far end is PostgreSQL as its superuser: another user of the desktop must not reach
    it. The tunnel is a Unix socket in a folder of PMC's alone (mode 0700)."""
    require_other_user()

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            async with await open_tunnel(conn, echo_port) as tunnel:
                assert tunnel.family == socket.AF_UNIX
                assert isinstance(tunnel.local_address, str) and tunnel.folder is not None
                assert stat.S_IMODE(os.stat(tunnel.folder).st_mode) == 0o700
                attempt = await asyncio.to_thread(
                    as_other_user,
                    [PYTHON, "-c", CONNECT, tunnel.local_address],
                )
                assert attempt.returncode == 3, attempt  # PermissionError: refused
                assert await asyncio.to_thread(_talk, tunnel, b"mine") == b"MINE"
                assert tunnel.connections_served == 1  # only PMC's own connection
            assert not os.path.exists(tunnel.folder)  # gone with the tunnel
        finally:
            await conn.close()

    asyncio.run(go())


CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except PermissionError:
    sys.exit(3)
s.sendall(b"theirs")
"""
