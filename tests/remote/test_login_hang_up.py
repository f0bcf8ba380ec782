"""A server that hangs up in the middle of the login: PMC reports the lost connection (and
connects again next time) instead of locking itself up. Before, the error path closed the
transport under the lock it was already holding, and the connection waited forever.

The peer is a real SSH server (paramiko's server side, in a thread on 127.0.0.1) that
completes the key exchange and closes the socket when the password arrives. PMC's side runs in
a child process: a connection that locks up again then fails the test when the child is
stopped, instead of holding up the whole run (a thread waiting on itself never ends, and the
interpreter waits for it at exit)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from pmc.errors import PmcError
from pmc.inventory import AuthMethod, Server
from pmc.remote import commands
from pmc.remote.connection import Connection
from pmc.remote.credentials import GivenCredentials
from pmc.remote.host_keys import KnownHosts, host_id

ROOT = Path(__file__).resolve().parents[2]


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


async def _two_logins(port: int, known_hosts: str) -> list[str]:
    """Log in twice (the second attempt must connect again, no lock left held); what each
    attempt raised, as ``Class: message``."""
    server = Server("main", "127.0.0.1", ssh_port=port, auth=AuthMethod.PASSWORD)
    conn = Connection(
        server, cluster="lab", known_hosts=KnownHosts(known_hosts),
        credentials=GivenCredentials({"main": "not-used-for-real"}),
    )  # fmt: skip
    said = []
    try:
        for _ in range(2):
            try:
                await commands.run(conn, ["true"])
                said.append("logged in")
            except PmcError as exc:
                said.append(f"{type(exc).__name__}: {exc}")
    finally:
        await conn.close()
    return said


def main() -> None:  # the child process: python -m tests.remote.test_login_hang_up PORT FILE
    print("\n".join(asyncio.run(_two_logins(int(sys.argv[1]), sys.argv[2]))))


def test_a_hang_up_during_the_login_is_reported_not_a_lock_up(
    hang_up_server: tuple[int, paramiko.PKey], tmp_path: Path
) -> None:
    port, key = hang_up_server
    known = tmp_path / "known_hosts"
    KnownHosts(known).add(host_id("127.0.0.1", port), key)
    argv = [sys.executable, "-m", "tests.remote.test_login_hang_up", str(port), str(known)]
    try:
        # a sanity bound (two logins take ~1 s); a lock-up never ends
        done = subprocess.run(
            argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail("PMC's connection locked up after the server hung up during the login")
    assert done.returncode == 0, done.stderr
    said = done.stdout.splitlines()
    assert len(said) == 2, done.stdout
    for line in said:
        assert line.startswith("ConnectionLost: ") and "lost while logging in" in line, line


if __name__ == "__main__":
    main()
