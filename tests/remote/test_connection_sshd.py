"""Host keys, login, reconnect and errors against a throwaway sshd on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
from pathlib import Path

import pytest

from pmc.inventory import AuthMethod
from pmc.remote import commands
from pmc.remote.connection import Connection
from pmc.remote.credentials import GivenCredentials
from pmc.remote.errors import (
    AuthenticationFailed,
    ConnectionLost,
    HostKeyChanged,
    UnknownHostKey,
    Unreachable,
)
from pmc.remote.host_keys import KnownHosts, RefuseUnknown, TrustFingerprints, host_id
from pmc.remote.limits import Timeouts
from pmc.remote.pool import ConnectionPool
from tests.fixtures.sshd import ThrowawaySshd
from tests.remote.conftest import host_fingerprint, server_for, trusting_connection
from tests.wait import wait_until_async

SESSION_END = r"\[preauth\]|Accepted|Failed"


class Recorder:
    """A TrustDecision that records the question and answers as told (the GUI's stand-in)."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.questions: list[UnknownHostKey] = []

    async def decide(self, question: UnknownHostKey) -> bool:
        self.questions.append(question)
        return self.answer


def test_unknown_key_is_asked_and_stored(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    known_file = tmp_path / "known_hosts"

    async def go() -> None:
        refuse = Recorder(False)
        conn = Connection(server_for(sshd), known_hosts=KnownHosts(known_file), trust=refuse)
        with pytest.raises(UnknownHostKey) as caught:
            await commands.run(conn, ["true"])
        assert caught.value.fingerprint == host_fingerprint(sshd)
        assert "--trust-fingerprint SHA256:" in str(caught.value)
        assert not known_file.exists()
        await conn.close()

        agree = Recorder(True)
        conn = Connection(server_for(sshd), known_hosts=KnownHosts(known_file), trust=agree)
        assert (await commands.run(conn, ["true"])).ok
        assert [q.fingerprint for q in agree.questions] == [host_fingerprint(sshd)]
        await conn.close()
        assert f"[127.0.0.1]:{sshd.port} ssh-ed25519 " in known_file.read_text()

        # known now: no question at all
        quiet = Recorder(False)
        conn = Connection(server_for(sshd), known_hosts=KnownHosts(known_file), trust=quiet)
        assert (await commands.run(conn, ["true"])).ok
        assert quiet.questions == []
        await conn.close()

    asyncio.run(go())


def test_concurrent_callers_share_one_host_key_question(
    sshd: ThrowawaySshd, tmp_path: Path
) -> None:
    """A status refresh and a Connect meeting the same unknown key ask the operator once."""

    class Slow(Recorder):
        async def decide(self, question: UnknownHostKey) -> bool:
            await asyncio.sleep(0.3)  # deliberate: a slow operator, the others call meanwhile
            return await super().decide(question)

    async def go() -> None:
        agree = Slow(True)
        conn = Connection(
            server_for(sshd), known_hosts=KnownHosts(tmp_path / "known_hosts"), trust=agree
        )
        results = await asyncio.gather(*(commands.run(conn, ["true"]) for _ in range(4)))
        assert all(r.ok for r in results)
        assert [q.fingerprint for q in agree.questions] == [host_fingerprint(sshd)]
        await conn.close()

    asyncio.run(go())


def test_changed_key_is_refused_before_login(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        old = host_fingerprint(sshd)
        assert (await commands.run(conn, ["true"])).ok
        await conn.close()

        sshd.stop()
        sshd.regenerate_host_key()
        sshd.log.write_text("")
        sshd.start()
        agree = Recorder(True)  # even an operator who would trust anything is not asked
        conn = Connection(
            server_for(sshd), known_hosts=KnownHosts(tmp_path / "known_hosts"), trust=agree
        )
        with pytest.raises(HostKeyChanged) as caught:
            await commands.run(conn, ["touch", str(tmp_path / "ran")])
        await conn.close()
        assert caught.value.old_fingerprint == old
        assert caught.value.new_fingerprint == host_fingerprint(sshd)
        assert old in str(caught.value) and "sent nothing" in str(caught.value)
        assert agree.questions == []
        assert not (tmp_path / "ran").exists()

        def verdict() -> str:  # sshd's word on PMC's connection: closed before login, or not
            text = sshd.log_text()
            return text if re.search(SESSION_END, text) else ""

        log = await wait_until_async(verdict, timeout=30, what="sshd's verdict on the connection")
        assert "Accepted" not in log and "Failed" not in log and "userauth" not in log

    asyncio.run(go())


def test_reconnects_on_the_next_call_after_a_drop(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            task = asyncio.create_task(commands.run(conn, ["sleep", "30"]))
            await wait_until_async(
                lambda: sshd.running("sleep"), timeout=30, what="the remote sleep to start"
            )
            sshd.stop()
            with pytest.raises(ConnectionLost) as caught:
                await task
            assert str(caught.value).startswith(f"main (127.0.0.1:{sshd.port}): ")
            with pytest.raises(Unreachable, match="refused"):
                await commands.run(conn, ["true"])
            sshd.start()
            assert (await commands.run(conn, ["echo", "back"])).stdout == "back\n"
            assert conn.connects == 2
        finally:
            await conn.close()

    asyncio.run(go())


def test_keepalive_watchdog_closes_a_dead_link(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    async def go() -> None:
        timeouts = Timeouts(keepalive_interval=0.2, keepalive_deadline=0.5)
        conn = trusting_connection(sshd, tmp_path, timeouts)
        try:
            assert (await commands.run(conn, ["true"])).ok
            transport = await conn.transport()
            assert conn.check_alive(transport)
            with sshd.frozen():  # the TCP link stays up but nothing answers
                await wait_until_async(
                    lambda: not conn.is_connected, timeout=30, what="the watchdog to close the link"
                )
        finally:
            await conn.close()

    asyncio.run(go())


def test_errors_name_the_server_and_never_the_password(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    password = "Pmc-Secret-4711"

    async def go() -> None:
        known = KnownHosts(tmp_path / "known_hosts")
        known.add(host_id(sshd.address, sshd.port), _host_key(sshd))
        server = dataclasses.replace(server_for(sshd), auth=AuthMethod.PASSWORD)
        conn = Connection(
            server, cluster="lab", known_hosts=known,
            credentials=GivenCredentials({"main": password}),
        )  # fmt: skip
        with pytest.raises(AuthenticationFailed) as caught:
            await commands.run(conn, ["true"])
        await conn.close()
        text = str(caught.value)
        assert text.startswith(f"main (127.0.0.1:{sshd.port}): ") and password not in text
        # what the server offers instead, not "store the correct password"
        assert "the server does not accept passwords for 'root' (it offers: publickey)" in text
        assert 'Log in with a key (auth = "key"' in text

        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        closed = dataclasses.replace(server_for(sshd), ssh_port=port)
        conn = Connection(closed, known_hosts=known, trust=RefuseUnknown())
        with pytest.raises(Unreachable, match="refused"):
            await commands.run(conn, ["true"])
        await conn.close()

        keyless = dataclasses.replace(server_for(sshd), key_file=str(tmp_path / "nokey"))
        conn = Connection(keyless, known_hosts=known)
        with pytest.raises(AuthenticationFailed, match="cannot be read"):
            await commands.run(conn, ["true"])
        await conn.close()

    asyncio.run(go())
    assert password not in (tmp_path / "known_hosts").read_text()
    assert password not in sshd.log_text()


def _host_key(sshd: ThrowawaySshd):  # type: ignore[no-untyped-def]
    import base64

    import paramiko

    kind, blob = sshd.host_key.with_suffix(".pub").read_text().split()[:2]
    return paramiko.PKey.from_type_string(kind, base64.b64decode(blob))


def test_pool_shares_one_connection_per_server(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    async def go() -> None:
        async with ConnectionPool(
            known_hosts=KnownHosts(tmp_path / "kh"),
            trust=TrustFingerprints([host_fingerprint(sshd)]),
        ) as pool:
            server = server_for(sshd)
            a = pool.connection(server, "lab")
            assert pool.connection(server, "lab") is a
            await asyncio.gather(*(commands.run(a, ["true"]) for _ in range(10)))
            assert a.connects == 1
            moved = dataclasses.replace(server, ssh_user="root", ssh_port=server.ssh_port)
            assert pool.connection(moved, "lab") is a
            other = dataclasses.replace(server, name="backup")
            assert pool.connection(other, "lab") is not a
            assert len(pool) == 2

    asyncio.run(go())
