"""Transfers keep going while the server re-keys the connection again and again.

The lab's sshd on main gets ``RekeyLimit 1M`` (and ``LogLevel DEBUG1``, so that it logs each
key exchange) for this test only: every MiB in either direction it starts a new key exchange
in the middle of the stream. PMC must move every byte unchanged through them, both ways and
through both of its bulk pipes, and the server's own log must show that the key exchanges
really happened (a transfer that never re-keys proves nothing).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pmc.bundle.pipe import Pipe
from pmc.inventory import AuthMethod, Server
from pmc.lab import LabCluster
from pmc.remote import files
from pmc.remote.connection import Connection
from pmc.remote.credentials import GivenCredentials
from pmc.remote.host_keys import KnownHosts, TrustFingerprints, fingerprint

pytestmark = pytest.mark.lab

MIB = 1 << 20
SIZE = 24 * MIB  # per transfer; three transfers: 72 MiB through 1 MiB key lifetimes
REKEY_CONFIG = "RekeyLimit 1M\nLogLevel DEBUG1\n"  # first value wins in sshd_config


@pytest.fixture
def rekeying_main(lab: LabCluster) -> Iterator[LabCluster]:
    """The session lab with main's sshd re-keying every MiB; put back as it was afterwards."""
    main = lab.servers["main"]
    config = main.path("/etc/ssh/sshd_config")
    original = config.read_text()
    config.write_text(REKEY_CONFIG + original)
    try:
        assert main.systemctl("restart", "sshd").returncode == 0
        yield lab
    finally:
        config.write_text(original)
        main.systemctl("restart", "sshd")
        for name in ("pmc-rekey-down.bin", "pmc-rekey-up.bin"):
            main.path(f"/root/{name}").unlink(missing_ok=True)


def _connection(lab: LabCluster, tmp_path: Path) -> Connection:
    import base64

    import paramiko

    srv = lab.servers["main"]
    kind, blob = srv.host_key("ed25519").split()[:2]
    key = paramiko.PKey.from_type_string(kind, base64.b64decode(blob))
    return Connection(
        Server(name="main", management_address=srv.management_address, auth=AuthMethod.PASSWORD),
        cluster="lab",
        known_hosts=KnownHosts(tmp_path / "known_hosts"),
        credentials=GivenCredentials({"main": srv.root_password}),
        trust=TrustFingerprints([fingerprint(key)]),
    )


def _key_exchanges(log_text: str) -> int:
    """Key exchanges the server finished after login (the first one is logged "[preauth]")."""
    return sum(
        1
        for line in log_text.splitlines()
        if "SSH2_MSG_NEWKEYS received" in line and "[preauth]" not in line
    )


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), MIB):
        yield bytes(view[start : start + MIB])


def test_transfers_survive_server_forced_rekeys(rekeying_main: LabCluster, tmp_path: Path) -> None:
    lab = rekeying_main
    main = lab.servers["main"]
    down = os.urandom(SIZE)
    main.path("/root/pmc-rekey-down.bin").write_bytes(down)
    up = os.urandom(SIZE)
    log = main.path("/var/log/sshd.log")
    before = log.stat().st_size

    async def go() -> tuple[str, str]:
        conn = _connection(lab, tmp_path)
        try:
            # the remote files' pipe (download_file), the other way (stream_input) …
            digest = hashlib.sha256()
            async for chunk in files.download_file(conn, "/root/pmc-rekey-down.bin"):
                digest.update(chunk)
            first = digest.hexdigest()
            await files.stream_input(
                conn, ["sh", "-c", "cat > /root/pmc-rekey-up.bin"], _chunks(up),
                root=True, what="/root/pmc-rekey-up.bin",
            )  # fmt: skip
            # … and the bundle's pipe
            pipe = await Pipe.start(conn, ["cat", "/root/pmc-rekey-down.bin"])

            def read_all() -> str:
                digest = hashlib.sha256()
                while chunk := pipe.read(MIB):
                    digest.update(chunk)
                pipe.finish()
                return digest.hexdigest()

            second = await conn.in_thread(conn.executors.transfers, read_all)
            assert conn.connects == 1  # one connection throughout: re-keyed, never re-made
            return first, second
        finally:
            await conn.close()

    first, second = lab.call_in_operator_namespace(asyncio.run, go())
    want = hashlib.sha256(down).hexdigest()
    assert (first, second) == (want, want)
    assert main.path("/root/pmc-rekey-up.bin").read_bytes() == up
    with log.open("rb") as f:
        f.seek(before)
        exchanges = _key_exchanges(f.read().decode("utf-8", "replace"))
    # 72 MiB through keys that last 1 MiB each way: dozens of exchanges, at least one per 2 MiB
    assert exchanges >= 3 * SIZE // (2 * MIB), exchanges
