"""``pmc lab`` as an operator runs it: up, inventory (keyring, known_hosts), exec, down; and a
clear error on a machine that lacks something.

The keyring is a real Secret Service (``secret_service``: a private D-Bus session whose socket
is a file, so it is reachable from the operator's network namespace too); PMC's folders are
temporary (``isolated_dirs``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from pmc import secrets
from pmc.errors import LabError
from pmc.lab import attach, check_machine, control, down, running_server, topology
from pmc.lab.inventory import cluster_name
from tests.fixtures.keyring import PmcDirs, SecretServiceSession
from tests.fixtures.lab import _skip_reason

pytestmark = pytest.mark.lab

PMC = [sys.executable, "-m", "pmc"]
SERVERS = {"main": "127.168.1.105", "backup": "127.168.1.108"}


def pmc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PMC, *args], capture_output=True, text=True, check=False, timeout=300, env=env
    )


@pytest.fixture
def lab_id() -> Iterator[str]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    lab = f"c{os.getpid()}"
    yield lab
    down(lab)


def _login(address: str, password: str, known_hosts: Path) -> str:
    """Root login with PMC's known_hosts only (an unknown key is refused)."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(address, username="root", password=password, allow_agent=False,
                       look_for_keys=False, timeout=5, auth_timeout=10)  # fmt: skip
        _, out, _ = client.exec_command("hostname")
        return out.read().decode().strip()
    finally:
        client.close()


def _files_holding(folders: list[Path], needles: list[str]) -> list[str]:
    found = []
    for folder in folders:
        for root, _, names in os.walk(folder):
            for name in names:
                path = Path(root, name)
                if not path.is_file() or path.is_symlink():
                    continue
                data = path.read_bytes()
                found += [f"{path}" for n in needles if n.encode() in data]
    return found


def test_up_inventory_exec_keep_passwords_in_the_keyring_only(
    lab_id: str, secret_service: SecretServiceSession, isolated_dirs: PmcDirs
) -> None:
    cluster = cluster_name(lab_id)
    assert cluster == f"lab-{lab_id}"
    up = pmc("lab", "--id", lab_id, "up", "--servers", "2", "--seed-rows", "20")
    assert up.returncode == 0, up.stderr
    assert f"root passwords are in the keyring (cluster '{cluster}')" in up.stdout
    first = {name: secrets.get_password(cluster, name) for name in SERVERS}
    assert all(first.values()), "pmc lab up stored no root password"

    inv = pmc("lab", "--id", lab_id, "inventory")
    assert inv.returncode == 0, inv.stderr
    path = Path(inv.stdout.strip())
    assert path == isolated_dirs.config / f"lab-{lab_id}.toml"
    known_hosts = isolated_dirs.config / "known_hosts"
    assert f"trusted the lab's host keys of main (127.168.1.105), backup (127.168.1.108) in " \
           f"{known_hosts}" in inv.stderr  # fmt: skip
    # The keyring holds each server's new root password under the inventory's names ...
    stored = {name: secrets.get_password(cluster, name) for name in SERVERS}
    assert all(stored.values()) and stored != first
    running = attach(lab_id)
    for name, address in SERVERS.items():
        password = stored[name]
        assert password is not None
        # ... and it opens that server, whose host key PMC now trusts.
        hostname = running.call_in_operator_namespace(_login, address, password, known_hosts)
        assert hostname == name
    text = known_hosts.read_text()
    for srv in running.servers.values():
        for kind in ("ed25519", "ecdsa", "rsa"):
            blob = srv.host_key(kind).split()[1]
            assert f"{srv.management_address} {srv.host_key(kind).split()[0]} {blob}" in text

    valid = pmc("--inventory", str(path), "inventory", "validate")
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert "valid (1 clusters, 2 servers)" in valid.stdout
    pmc_bin = Path(sys.executable).parent / "pmc"
    listing = pmc("lab", "--id", lab_id, "exec", "--", str(pmc_bin), "--inventory", str(path),
                  "inventory", "list")  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    rows = [line.split() for line in listing.stdout.splitlines()[1:]]
    assert [(r[0], r[2], r[4], r[5]) for r in rows] == [
        (cluster, "main", "127.168.1.105", "127.17.59.128"),
        (cluster, "backup", "127.168.1.108", "127.17.59.129"),
    ]

    # Without trusting: known_hosts is left alone.
    before = known_hosts.read_text()
    again = pmc("lab", "--id", lab_id, "inventory", "--no-trust-host-keys",
                "--output", str(isolated_dirs.config / "again.toml"))  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "host keys not trusted" in again.stderr
    assert known_hosts.read_text() == before
    latest = [secrets.get_password(cluster, name) for name in SERVERS]

    # No password in any file of the lab, of PMC, or in what the commands printed.
    passwords = [p for p in [*first.values(), *stored.values(), *latest] if p]
    folders = [topology.state_dir(lab_id), *isolated_dirs.all()]
    assert _files_holding(folders, passwords) == []
    for proc in (up, inv, valid, listing, again):
        assert not any(p in proc.stdout + proc.stderr for p in passwords)

    gone = pmc("lab", "--id", lab_id, "down")
    assert gone.returncode == 0 and gone.stdout == "lab stopped\n"
    assert not topology.state_dir(lab_id).exists()


def test_four_servers_make_a_valid_inventory_of_two_clusters(tmp_path: Path) -> None:
    # pmc.lab.inventory of a 4-server lab: combined main/backup plus a players cluster.
    from pmc.inventory_file import load_inventory, save_inventory
    from pmc.lab.inventory import inventory_of, secret_names
    from pmc.validation import validate

    lab_id = "four"
    running = control.LabCluster(lab_id, "fresh", {})
    for spec in topology.servers_for(4):
        running.servers[spec.name] = running_server.LabServer(lab_id, spec, Path("/nonexistent"), 0)
    inventory = inventory_of(running)
    path = tmp_path / "four.toml"
    save_inventory(inventory, path)
    assert validate(load_inventory(path)) == []
    cluster = cluster_name(lab_id)
    assert secret_names(running) == {
        "main": (cluster, "main"),
        "backup": (cluster, "backup"),
        "player1": (f"{cluster}-players", "player1"),
        "player2": (f"{cluster}-players", "player2"),
    }


def test_up_names_what_the_machine_lacks(tmp_path: Path, isolated_dirs: PmcDirs) -> None:
    # PATH with every tool the lab needs except `ip`.
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("unshare", "nsenter", "nft", "ssh-keygen", "openssl", "runuser"):
        found = shutil.which(tool, path=control.LOGIN_ENV["PATH"])
        if found is None:
            pytest.skip(f"{tool} is not installed here")
        (tools / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(tools)}
    result = pmc("lab", "--id", f"m{os.getpid()}", "up", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("pmc: the rehearsal lab cannot run on this machine: it needs")
    assert f"`ip` (iproute2) on PATH ({tools})" in result.stderr
    assert "`nft`" not in result.stderr
    assert not topology.state_dir(f"m{os.getpid()}").exists()


def test_check_machine_names_missing_root_privileges(monkeypatch: pytest.MonkeyPatch) -> None:
    # A non-root user cannot even start the venv's Python here (it lives under /root), so the
    # check itself is run as if the effective uid were nobody's.
    monkeypatch.setattr(os, "geteuid", lambda: 65534)
    with pytest.raises(LabError, match=r"it needs root privileges \(run as root\)"):
        check_machine()
