"""Host keys as strict as OpenSSH, against a throwaway sshd: a known host may use only the key
types PMC holds for it, another type is a changed key, and replacing a key is an explicit,
audited action."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import paramiko
import pytest

from pmc.inventory import Architecture, Cluster, Inventory
from pmc.inventory_file import save_inventory
from pmc.remote import commands
from pmc.remote.connection import Connection
from pmc.remote.errors import HostKeyChanged, UnknownHostKey
from pmc.remote.host_key_replace import AUDIT_ACTION, HostKeyNotPresented, replace_host_key
from pmc.remote.host_keys import KnownHosts, fingerprint, host_id
from pmc.store import Store
from tests.fixtures.sshd import ThrowawaySshd
from tests.remote.conftest import host_fingerprint, server_for, trusting_connection


class Recorder:
    """A TrustDecision that records what it was asked and trusts everything."""

    def __init__(self) -> None:
        self.questions: list[UnknownHostKey] = []

    async def decide(self, question: UnknownHostKey) -> bool:
        self.questions.append(question)
        return True


def _fingerprint_of(public: Path) -> tuple[str, str]:
    kind, blob = public.read_text().split()[:2]
    return kind, fingerprint(paramiko.PKey.from_type_string(kind, base64.b64decode(blob)))


def _switch_to_rsa(sshd: ThrowawaySshd, tmp_path: Path) -> tuple[str, str]:
    """Trust the ed25519 key (one login), then restart sshd with an RSA key only."""

    async def trust() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            assert (await commands.run(conn, ["true"])).ok
        finally:
            await conn.close()

    asyncio.run(trust())
    old = host_fingerprint(sshd)
    _, new = _fingerprint_of(sshd.use_only_host_key("rsa"))
    return old, new


def _no_login_attempt(sshd: ThrowawaySshd) -> None:
    log = sshd.log_text()
    assert "Accepted" not in log and "Failed" not in log and "userauth" not in log, log


def test_a_known_host_presenting_another_key_type_is_a_changed_key(
    sshd: ThrowawaySshd, tmp_path: Path
) -> None:
    old, new = _switch_to_rsa(sshd, tmp_path)
    agree = Recorder()  # an operator who would trust anything is not even asked

    async def go() -> HostKeyChanged:
        conn = Connection(
            server_for(sshd), known_hosts=KnownHosts(tmp_path / "known_hosts"), trust=agree
        )
        try:
            with pytest.raises(HostKeyChanged) as caught:
                await commands.run(conn, ["touch", str(tmp_path / "ran")])
            return caught.value
        finally:
            await conn.close()

    error = asyncio.run(go())
    assert agree.questions == []
    assert (error.key_type, error.old_fingerprint) == ("ssh-ed25519", old)
    assert (error.new_key_type, error.new_fingerprint) == ("ssh-rsa", new)
    assert f"Trusted key: ssh-ed25519 {old}; the server now presents: ssh-rsa {new}" in str(error)
    assert "sent nothing" in str(error)
    assert not (tmp_path / "ran").exists()
    assert "ssh-rsa" not in (tmp_path / "known_hosts").read_text()  # nothing was added
    _no_login_attempt(sshd)


def test_replacing_a_key_needs_the_fingerprint_the_server_presents_and_is_audited(
    sshd: ThrowawaySshd, tmp_path: Path
) -> None:
    old, new = _switch_to_rsa(sshd, tmp_path)
    known_file = tmp_path / "known_hosts"
    store = Store.open(tmp_path / "pmc.sqlite3")

    async def go() -> None:
        conn = Connection(server_for(sshd), cluster="lab", known_hosts=KnownHosts(known_file))
        try:
            wrong = "SHA256:" + "A" * 43
            with pytest.raises(HostKeyNotPresented, match=re.escape(f"presents ssh-rsa {new}")):
                await replace_host_key(conn, wrong, store=store)
            assert store.audit_log() == []
            assert "ssh-rsa" not in known_file.read_text()
            replaced = await replace_host_key(conn, new, store=store)
            assert replaced.old == (f"ssh-ed25519 {old}",) and replaced.key_type == "ssh-rsa"
            assert (await commands.run(conn, ["true"])).ok  # the new key is trusted now
        finally:
            await conn.close()

    asyncio.run(go())
    keys = KnownHosts(known_file).keys_for(host_id(sshd.address, sshd.port))
    assert list(keys) == ["ssh-rsa"]  # the old key is forgotten, not kept beside it
    (record,) = store.audit_log()
    assert (record.action, record.cluster, record.server) == (AUDIT_ACTION, "lab", "main")
    assert new in record.detail and old in record.detail
    store.close()


def test_pmc_hostkey_replace_on_the_command_line(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    config, data = tmp_path / "config", tmp_path / "data"
    config.mkdir()
    inventory = config / "inventory.toml"
    save_inventory(
        Inventory((Cluster("lab", Architecture.MANUAL, (server_for(sshd),)),)), inventory
    )

    async def trust() -> None:
        conn = Connection(
            server_for(sshd),
            known_hosts=KnownHosts(config / "known_hosts"),
            trust=_Trust(host_fingerprint(sshd)),
        )
        try:
            assert (await commands.run(conn, ["true"])).ok
        finally:
            await conn.close()

    asyncio.run(trust())
    _, new = _fingerprint_of(sshd.use_only_host_key("ecdsa"))
    env = {**os.environ, "PMC_CONFIG_DIR": str(config), "PMC_DATA_DIR": str(data)}

    def pmc(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pmc", *argv],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip

    bad = pmc("hostkey", "replace", "main", "--fingerprint", "SHA256:nope")
    assert bad.returncode == 2 and "is not a host key fingerprint" in bad.stderr
    done = pmc("hostkey", "replace", "lab/main", "--fingerprint", new)
    assert done.returncode == 0, done.stderr
    assert f"the trusted host key is now ecdsa-sha2-nistp256 {new}" in done.stdout
    store = Store.open(data / "pmc.sqlite3")
    assert [r.action for r in store.audit_log()] == [AUDIT_ACTION]
    store.close()


class _Trust:
    def __init__(self, wanted: str) -> None:
        self.wanted = wanted

    async def decide(self, question: UnknownHostKey) -> bool:
        return question.fingerprint == self.wanted
