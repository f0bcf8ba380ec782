"""pmc.cli.connect: the pool every server command builds, and its trust decision."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from pmc.cli.connect import (
    RefuseOffTerminal,
    add_connection_options,
    make_pool,
    trust_decision,
)
from pmc.errors import InputError
from pmc.remote import commands
from pmc.remote.credentials import NoCredentials
from pmc.remote.errors import UnknownHostKey
from pmc.remote.host_keys import AskOnTerminal, KnownHosts, TrustFingerprints
from tests.fixtures.sshd import ThrowawaySshd
from tests.remote.conftest import host_fingerprint, server_for

GOOD = "SHA256:" + "A" * 43


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_connection_options(parser)
    return parser.parse_args(argv)


def test_the_trust_decision_follows_the_options() -> None:
    assert isinstance(trust_decision([GOOD], interactive=True), TrustFingerprints)
    assert isinstance(trust_decision([], interactive=True), AskOnTerminal)
    assert isinstance(trust_decision([], interactive=False), RefuseOffTerminal)
    with pytest.raises(InputError, match="'SHA256:short' is not a host key fingerprint"):
        trust_decision(["SHA256:short"])
    args = parse("--trust-fingerprint", GOOD, "--trust-fingerprint", " " + GOOD)
    assert args.trust_fingerprint == [GOOD, " " + GOOD]
    with pytest.raises(InputError, match="--connect-timeout 0 is out of range"):
        make_pool(parse("--connect-timeout", "0"))


def test_off_a_terminal_an_unknown_key_is_refused_with_how_to_trust_it(
    sshd: ThrowawaySshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMC_CONFIG_DIR", str(tmp_path / "config"))
    fingerprint = host_fingerprint(sshd)

    async def go() -> None:
        async with make_pool(parse(), credentials=NoCredentials(), interactive=False) as pool:
            conn = pool.connection(server_for(sshd), "lab")
            with pytest.raises(UnknownHostKey) as caught:
                await commands.run(conn, ["true"])
            text = str(caught.value)
            assert text.startswith(f"main (127.0.0.1:{sshd.port}): the server's host key is not")
            assert text.endswith(f"run the command again with --trust-fingerprint {fingerprint}")
            assert "PMC asks about a new host key only on a terminal" in text

    asyncio.run(go())
    assert not (tmp_path / "config" / "known_hosts").exists()  # nothing trusted


def test_trusted_fingerprint_is_stored_in_pmc_known_hosts(
    sshd: ThrowawaySshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMC_CONFIG_DIR", str(tmp_path / "config"))
    args = parse("--trust-fingerprint", host_fingerprint(sshd), "--connect-timeout", "5")

    async def go() -> None:
        async with make_pool(args, credentials=NoCredentials(), interactive=False) as pool:
            assert pool.timeouts.connect == 5
            result = await commands.run(pool.connection(server_for(sshd), "lab"), ["echo", "hi"])
            assert result.stdout == "hi\n"

    asyncio.run(go())
    known = KnownHosts(tmp_path / "config" / "known_hosts")
    assert known.keys_for(f"[127.0.0.1]:{sshd.port}")
