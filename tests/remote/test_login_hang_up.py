"""A server that hangs up in the middle of the login: PMC reports the lost connection (and
connects again next time) instead of locking itself up. Before, the error path closed the
transport under the lock it was already holding, and the connection waited forever.

The peer is a real SSH server (paramiko's server side, in a thread on 127.0.0.1) that
completes the key exchange and closes the socket when the password arrives."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from pmc.inventory import AuthMethod, Server
from pmc.remote import commands
from pmc.remote.connection import Connection
from pmc.remote.credentials import GivenCredentials
from pmc.remote.errors import ConnectionLost
from pmc.remote.host_keys import KnownHosts, host_id


class HangUp(paramiko.ServerInterface):
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        self.sock.shutdown(socket.SHUT_RDWR)  # gone mid-login
        return paramiko.AUTH_FAILED


@pytest.fixture
def hang_up_server() -> Iterator[tuple[int, paramiko.PKey]]:
    key = paramiko.RSAKey.generate(2048)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(sock)
            transport.add_server_key(key)
            try:
                transport.start_server(server=HangUp(sock))
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], key
    stop.set()
    listener.close()


def test_a_hang_up_during_the_login_is_reported_not_a_lock_up(
    hang_up_server: tuple[int, paramiko.PKey], tmp_path: Path
) -> None:
    port, key = hang_up_server
    known = KnownHosts(tmp_path / "known_hosts")
    known.add(host_id("127.0.0.1", port), key)
    server = Server("main", "127.0.0.1", ssh_port=port, auth=AuthMethod.PASSWORD)

    async def go() -> None:
        conn = Connection(
            server, cluster="lab", known_hosts=known,
            credentials=GivenCredentials({"main": "not-used-for-real"}),
        )  # fmt: skip
        try:
            for _ in range(2):  # and the next attempt connects again, no lock left held
                with pytest.raises(ConnectionLost, match="lost while logging in"):
                    async with asyncio.timeout(60):
                        await commands.run(conn, ["true"])
        finally:
            await conn.close()

    asyncio.run(go())
