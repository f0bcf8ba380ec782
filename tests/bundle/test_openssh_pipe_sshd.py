"""Bulk pipes over the system's OpenSSH client (:mod:`pmc.bundle.openssh_pipe`) against real
throwaway sshds, no mocks: bytes both ways exactly, exit statuses and errors; ``ssh`` refuses a
host key PMC does not trust; a password given through ``SSH_ASKPASS`` (right and wrong: nothing
of it left behind); :meth:`~pmc.bundle.openssh_pipe.OpenSshPipe.abort` stops the remote
command; and PMC's own SSH carries a big stream where ``ssh`` cannot log in.

The password server is a throwaway sshd in a mount namespace of its own, with a copy of the
machine's ``/etc`` bound over ``/etc`` whose shadow holds a root password made for the test
(as the lab's servers do): the machine's own accounts are never touched.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import logging
import os
import secrets
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from pmc.bundle import openssh_pipe
from pmc.bundle.openssh_pipe import OpenSshPipe
from pmc.bundle.pipe import BulkPipe, Pipe, start_bulk
from pmc.inventory import AuthMethod, Server
from pmc.lab import accounts
from pmc.remote import openssh
from pmc.remote.connection import Connection
from pmc.remote.credentials import GivenCredentials
from pmc.remote.errors import CommandFailed
from pmc.remote.host_keys import KnownHosts, TrustFingerprints, host_id
from tests.fixtures.sshd import SSHD, ThrowawaySshd, _free_port
from tests.remote.conftest import host_fingerprint, server_for, trusting_connection
from tests.wait import wait_until_async

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def over_openssh(monkeypatch: pytest.MonkeyPatch) -> str:
    """``PMC_BULK_SSH=openssh``; the client's path (skips where there is none PMC may use)."""
    monkeypatch.setenv("PMC_BULK_SSH", "openssh")
    path = openssh.client()
    if path is None:
        pytest.skip(f"needs OpenSSH's ssh >= {openssh.MIN_VERSION}")
    return path


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder PMC's private ``pmc-ssh-*`` folders go into, the test's own."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def made_logins(monkeypatch: pytest.MonkeyPatch) -> list[openssh.Login]:
    """Every :class:`~pmc.remote.openssh.Login` the pipes make (the real ones, kept)."""
    made: list[openssh.Login] = []
    real = openssh.login

    def keep(connection: Connection, path: str) -> openssh.Login:
        made.append(real(connection, path))
        return made[-1]

    monkeypatch.setattr(openssh, "login", keep)
    return made


def _read_all(pipe: BulkPipe) -> bytes:
    out = bytearray()
    while chunk := pipe.read():
        out += chunk
    return bytes(out)


def _through(pipe: BulkPipe, data: bytes) -> bytes:
    """``data`` written to the pipe (from a thread of its own, then its input closed) while
    its output is read here; the output."""
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for at in range(0, len(data), 1 << 20):
                pipe.write(data[at : at + (1 << 20)])
            pipe.close_stdin()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    out = _read_all(pipe)
    writer.join(60)
    assert not errors, errors
    return out


def _trusting(
    server: Server, sshd: ThrowawaySshd, tmp: Path, credentials: GivenCredentials
) -> Connection:
    """A connection to ``server`` (on ``sshd``) that trusts its host key, with ``credentials``."""
    return Connection(
        server,
        cluster="lab",
        known_hosts=KnownHosts(tmp / "known_hosts"),
        trust=TrustFingerprints([host_fingerprint(sshd)]),
        credentials=credentials,
    )


def _accepted(sshd: ThrowawaySshd, method: str) -> int:
    return sshd.log_text().count(f"Accepted {method} for root")


def test_bytes_both_ways_exactly_exit_status_and_errors(
    sshd: ThrowawaySshd, tmp_path: Path, over_openssh: str
) -> None:
    data = os.urandom(6 << 20)

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            pipe = await openssh_pipe.start(conn, ["cat"])
            assert isinstance(pipe, OpenSshPipe), "not carried by OpenSSH"
            args = pipe.process.args
            assert isinstance(args, list) and args[0] == over_openssh  # ssh itself
            out = await asyncio.to_thread(_through, pipe, data)
            got, sent = len(out), len(data)
            assert got == sent
            assert hashlib.sha256(out).hexdigest() == hashlib.sha256(data).hexdigest()
            assert await asyncio.to_thread(pipe.finish) == 0

            pipe = await openssh_pipe.start(conn, ["sh", "-c", "cat >/dev/null; exit 3"])
            assert isinstance(pipe, OpenSshPipe)
            await asyncio.to_thread(_through, pipe, b"x" * 100_000)
            assert await asyncio.to_thread(pipe.finish, check=False) == 3

            failing = ["sh", "-c", "echo 'no such part here' >&2; exit 4"]
            pipe = await openssh_pipe.start(conn, failing)
            assert isinstance(pipe, OpenSshPipe)
            with pytest.raises(CommandFailed) as caught:
                await asyncio.to_thread(pipe.finish)
            assert caught.value.exit_status == 4
            assert "no such part here" in caught.value.stderr
            assert "no such part here" in str(caught.value)
        finally:
            await conn.close()

    asyncio.run(go())
    # PMC's own connection, then one login of ssh for each pipe
    assert _accepted(sshd, "publickey") == 1 + 3


def _public_key(path: Path) -> paramiko.PKey:
    kind, blob = path.read_text().split()[:2]
    return paramiko.PKey.from_type_string(kind, base64.b64decode(blob))


def test_ssh_refuses_a_host_key_pmc_does_not_trust(
    sshd: ThrowawaySshd, tmp_path: Path, over_openssh: str, private_tmp: Path
) -> None:
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    marker = tmp_path / "ran-on-the-server"

    def run_with(trusted: paramiko.PKey) -> subprocess.CompletedProcess[str]:
        known = KnownHosts(tmp_path / f"kh-{trusted.get_fingerprint().hex()}")
        known.add(host_id(sshd.address, sshd.port), trusted)
        conn = Connection(server_for(sshd), cluster="lab", known_hosts=known)
        with openssh.private_login(conn, over_openssh) as login:
            return subprocess.run(
                [*login.argv, f"touch {marker}"],
                env=login.env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )

    wrong = _public_key(other.with_suffix(".pub"))
    assert wrong.get_name() == "ssh-ed25519"  # the same type as the server's key
    refused = run_with(wrong)
    status, said = refused.returncode, refused.stderr.strip().splitlines()[-1:]
    assert status == 255, said
    assert "Host key verification failed" in refused.stderr
    assert not marker.exists()
    assert "Accepted" not in sshd.log_text()

    right = run_with(_public_key(sshd.host_key.with_suffix(".pub")))
    assert right.returncode == 0, right.stderr
    assert marker.exists()
    assert not list(private_tmp.iterdir())  # the private folders are gone


PASSWORD_SERVERS = {
    "password": {"PermitRootLogin": "yes", "PasswordAuthentication": "yes"},
    # as many servers are set up: PAM asks for the password again after a wrong one
    "password, then keyboard-interactive": {
        "PermitRootLogin": "yes",
        "PasswordAuthentication": "yes",
        "KbdInteractiveAuthentication": "yes",
        "UsePAM": "yes",
    },
}


@pytest.fixture(params=list(PASSWORD_SERVERS))
def password_sshd(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ThrowawaySshd, str]]:
    """A throwaway sshd taking root's password (made here, in memory only), and it."""
    settings: dict[str, str] = PASSWORD_SERVERS[request.param]
    if not os.path.exists(SSHD) or os.geteuid() != 0:
        pytest.skip("needs root and /usr/sbin/sshd (openssh-server)")
    root = tmp_path_factory.mktemp("password-sshd")
    root.chmod(0o755)
    tree = root / "tree"
    accounts.copy_machine_etc(tree / "etc")
    password = accounts.new_password()
    accounts.write_shadow(tree, password)
    bind = 'mount --bind "$0" /etc && exec "$@"'
    server = ThrowawaySshd(
        root=root,
        port=_free_port(),
        wrapper=("unshare", "--mount", "--propagation", "private", "--",
                 "sh", "-c", bind, str(tree / "etc")),
    )  # fmt: skip
    server.prepare()
    lines = [
        line
        for line in server.config.read_text().splitlines()
        if line.split(" ", 1)[0] not in settings
    ]
    lines += [f"{keyword} {value}" for keyword, value in settings.items()]
    server.config.write_text("\n".join(lines) + "\n")
    server.start()
    try:
        yield server, password
    finally:
        server.stop()


@pytest.mark.usefixtures("over_openssh")
def test_password_through_askpass_right_and_wrong(
    password_sshd: tuple[ThrowawaySshd, str],
    tmp_path: Path,
    private_tmp: Path,
    made_logins: list[openssh.Login],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sshd, password = password_sshd
    wrong = secrets.token_urlsafe(18)
    server = Server(
        name="main",
        management_address=sshd.address,
        ssh_port=sshd.port,
        auth=AuthMethod.PASSWORD,
    )

    async def go() -> None:
        conn = _trusting(server, sshd, tmp_path, GivenCredentials({"main": password}))
        try:
            pipe = await openssh_pipe.start(conn, ["sh", "-c", "echo over OpenSSH"])
            assert isinstance(pipe, OpenSshPipe), caplog.text
            assert await asyncio.to_thread(_read_all, pipe) == b"over OpenSSH\n"
            assert await asyncio.to_thread(pipe.finish) == 0
            assert _accepted(sshd, "password") == 2  # PMC's own connection, then ssh

            # the password changed on the server since PMC's own connection logged in
            conn.credentials = GivenCredentials({"main": wrong})
            began = time.monotonic()
            with caplog.at_level(logging.WARNING, logger="pmc.remote"):
                assert await openssh_pipe.start(conn, ["touch", str(tmp_path / "ran")]) is None
            # ssh gave up at once, not at the login's deadline (asking again in vain)
            took, t = time.monotonic() - began, conn.timeouts
            assert took < (t.connect + t.banner + t.auth) / 2
            assert not (tmp_path / "ran").exists()
        finally:
            await conn.close()

    asyncio.run(go())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "PMC's own SSH carries it instead" in warnings[0], warnings
    assert "Permission denied" in warnings[0]
    assert "Failed password for root" in sshd.log_text()
    assert _accepted(sshd, "password") == 2
    assert len(made_logins) == 2
    # where a password could show (named, never shown, when it does)
    texts = {"PMC's log": caplog.text, "sshd's log": sshd.log_text()}
    texts |= {f"login {n}": repr(login) for n, login in enumerate(made_logins)}
    shown = [where for where, text in texts.items() for s in (password, wrong) if s in text]
    assert not shown
    for login in made_logins:
        assert not login.folder.exists()
        # no askpass left waiting on its named pipe
        assert not [p for p in _command_lines() if str(login.folder) in p]
    assert not list(private_tmp.iterdir())


@pytest.mark.usefixtures("over_openssh")
def test_key_passphrase_through_askpass_right_and_wrong(
    sshd: ThrowawaySshd,
    tmp_path: Path,
    private_tmp: Path,
    made_logins: list[openssh.Login],
    caplog: pytest.LogCaptureFixture,
) -> None:
    passphrase, wrong = accounts.new_password(), accounts.new_password()
    key = sshd.root / "locked_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-f", str(key), "-N", passphrase], check=True
    )
    with (sshd.root / "authorized_keys").open("a") as f:
        f.write(key.with_suffix(".pub").read_text())
    server = dataclasses.replace(server_for(sshd), key_file=str(key))

    async def go() -> None:
        conn = _trusting(server, sshd, tmp_path, GivenCredentials(passphrases={"main": passphrase}))
        try:
            pipe = await openssh_pipe.start(conn, ["sh", "-c", "echo unlocked"])
            assert isinstance(pipe, OpenSshPipe), caplog.text
            assert await asyncio.to_thread(_read_all, pipe) == b"unlocked\n"
            assert await asyncio.to_thread(pipe.finish) == 0
            assert _accepted(sshd, "publickey") == 2  # PMC's own connection, then ssh

            conn.credentials = GivenCredentials(passphrases={"main": wrong})
            with caplog.at_level(logging.WARNING, logger="pmc.remote"):
                assert await openssh_pipe.start(conn, ["true"]) is None
        finally:
            await conn.close()

    asyncio.run(go())
    assert "PMC's own SSH carries it instead" in caplog.text
    assert _accepted(sshd, "publickey") == 2
    texts = {"PMC's log": caplog.text, "sshd's log": sshd.log_text()}
    texts |= {f"login {n}": repr(login) for n, login in enumerate(made_logins)}
    shown = [where for where, text in texts.items() for s in (passphrase, wrong) if s in text]
    assert not shown
    assert len(made_logins) == 2
    assert not list(private_tmp.iterdir())


def _command_lines() -> list[str]:
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
    return lines


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_abort_stops_the_remote_command_and_ssh(
    sshd: ThrowawaySshd, tmp_path: Path, over_openssh: str, private_tmp: Path
) -> None:
    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            pipe = await openssh_pipe.start(conn, ["sleep", "300"])
            assert isinstance(pipe, OpenSshPipe)
            assert pipe.pgid is not None
            assert _group_alive(pipe.pgid)  # the server is this machine
            try:  # the group's leader says its pid, then becomes the command: not at once
                await wait_until_async(
                    lambda: sshd.running("sleep"), timeout=20, what="the command to start"
                )
            finally:
                await pipe.abort()
            await wait_until_async(
                lambda: not _group_alive(pipe.pgid or 0),
                timeout=20,
                what="the remote process group to end",
            )
            assert not sshd.running("sleep")
            assert pipe.process.poll() is not None
            assert pipe.closed
        finally:
            await conn.close()

    asyncio.run(go())
    assert not list(private_tmp.iterdir())


def test_a_stream_ends_with_the_session_the_guard_watches(
    sshd: ThrowawaySshd, tmp_path: Path, over_openssh: str, private_tmp: Path
) -> None:
    """A stream over OpenSSH runs in a session the session guard does not end: once the sshd
    process of PMC's own connection ends (as the guard ends it after a cut link), the
    stream's remote process group stops too, while its own SSH session is still up."""

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            pipe = await openssh_pipe.start(conn, ["sleep", "300"])
            assert isinstance(pipe, OpenSshPipe)
            assert pipe.pgid is not None and _group_alive(pipe.pgid)
            watched = await asyncio.to_thread(conn.session_pid)
            assert watched is not None and watched != pipe.pgid
            os.kill(watched, signal.SIGKILL)  # what the guard does, without the wait
            await wait_until_async(
                lambda: not _group_alive(pipe.pgid or 0),
                timeout=20,
                what="the stream's process group to end with PMC's own session",
            )
            assert not sshd.running("sleep")
            await pipe.abort()
        finally:
            await conn.close()

    asyncio.run(go())


def test_paramiko_carries_a_big_stream_when_ssh_cannot_log_in(
    sshd: ThrowawaySshd,
    tmp_path: Path,
    over_openssh: str,
    private_tmp: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # OpenSSH ignores a private key others may read ("UNPROTECTED PRIVATE KEY FILE"); paramiko
    # does not look
    sshd.client_key.chmod(0o644)

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            with caplog.at_level(logging.WARNING, logger="pmc.remote"):
                pipe = await start_bulk(conn, ["cat"], big=True)
            assert isinstance(pipe, Pipe), type(pipe)
            data = os.urandom(3 << 20)
            out = await asyncio.to_thread(_through, pipe, data)
            assert hashlib.sha256(out).digest() == hashlib.sha256(data).digest()
            assert await asyncio.to_thread(pipe.finish) == 0
        finally:
            await conn.close()

    asyncio.run(go())
    assert "PMC's own SSH carries it instead" in caplog.text
    assert "Permission denied" in caplog.text
    assert _accepted(sshd, "publickey") == 1  # PMC's own connection only
    assert not list(private_tmp.iterdir())
