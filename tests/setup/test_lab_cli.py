"""``pmc setup plan|apply|verify`` as an operator runs it: a subprocess in the lab's operator
namespace, an inventory file written for the lab, the root passwords in a real Secret
Service keyring (reachable across namespaces: its D-Bus socket is a file), host keys trusted
with ``--trust-fingerprint``. Exit codes: 0 done, 1 failed and rolled back, 2 bad input.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from pmc import secrets
from pmc.inventory import Architecture, Cluster, Inventory, Server
from pmc.inventory_file import save_inventory
from pmc.lab import LabCluster
from pmc.paths import state_db_path
from tests.fixtures.keyring import PmcDirs, SecretServiceSession
from tests.operator_words import problems_in_output
from tests.setup.labkit import (
    SSHD_DROP_INS,
    forbid_root_login_in_drop_in,
    hash_files,
    lab_cluster,
    sshd_root_login,
)
from tests.setup.test_lab_setup import sabotage_api_restart

pytestmark = [pytest.mark.lab, pytest.mark.keyring, pytest.mark.slow]


def fingerprints(lab: LabCluster) -> list[str]:
    out = []
    for srv in lab.servers.values():
        for kind in ("ed25519", "ecdsa", "rsa"):
            blob = base64.b64decode(srv.host_key(kind).split()[1])
            digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
            out.append(f"SHA256:{digest}")
    return out


def write_inventory(path: Path, cluster: Cluster) -> Path:
    save_inventory(Inventory((cluster,)), path)
    return path


def typo(cluster: Cluster, server: str, address: str) -> Cluster:
    servers = tuple(
        Server(s.name, address, s.redundancy_address, s.role) if s.name == server else s
        for s in cluster.servers
    )
    return Cluster(cluster.name, cluster.architecture, servers)


def pmc(
    lab: LabCluster, inventory: Path, *args: str, trust: list[str], yes: bool = False
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pmc", "--inventory", str(inventory), "setup", *args]
    argv += ["--cluster", "lab"]
    for fingerprint in trust:
        argv += ["--trust-fingerprint", fingerprint]
    if yes:
        argv.append("--yes")
    # stdin is an empty pipe, never a terminal: nothing can be confirmed by accident
    return lab.operator_run(argv, input="", check=False, timeout=600)


def test_plan_apply_verify_exit_codes(
    fresh_lab: LabCluster,
    secret_service: SecretServiceSession,
    isolated_dirs: PmcDirs,
    tmp_path: Path,
) -> None:
    lab = fresh_lab
    cluster = lab_cluster(lab, Architecture.COMBINED)
    for srv in lab.servers.values():
        secrets.set_password("lab", srv.name, srv.root_password)
    good = write_inventory(tmp_path / "lab.toml", cluster)
    trust = fingerprints(lab)
    before = hash_files(lab)

    # 2: bad input, refused before any connection (the seed's typos, in the lab's range)
    for server, address, words in (
        ("main", "127.158.1.105", "127.158.1.105"),
        ("backup", "127.168.1.018", "leading zero"),
    ):
        bad = tmp_path / f"bad-{server}.toml"
        bad.write_text(good.read_text().replace(cluster.server(server).management_address,
                                                address))  # fmt: skip
        for action in ("plan", "apply", "verify"):
            result = pmc(lab, bad, action, trust=trust, yes=action == "apply")
            assert result.returncode == 2, (action, result.stderr)
            assert words in result.stderr and "Traceback" not in result.stderr
    assert hash_files(lab) == before

    # plan: 0, the diffs on stdout, nothing changed
    result = pmc(lab, good, "plan", trust=trust)
    assert result.returncode == 0, result.stderr
    assert '+  {"name":"backup","address":"127.168.1.108","type":"spooler"}' in (result.stdout)
    assert hash_files(lab) == before

    # apply without --yes and no terminal: refused (2), nothing changed
    result = pmc(lab, good, "apply", trust=trust)
    assert result.returncode == 2, result.stderr
    assert "apply needs a confirmation" in result.stderr
    assert hash_files(lab) == before

    # a sabotaged step: 1, rolled back, every server as before
    sabotage_api_restart(lab, "backup")
    result = pmc(lab, good, "apply", trust=trust, yes=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Rolled back:" in result.stderr
    assert hash_files(lab) == before

    # apply: 0; verify: 0; a second apply has nothing to do
    result = pmc(lab, good, "apply", trust=trust, yes=True)
    assert result.returncode == 0, result.stdout + result.stderr
    result = pmc(lab, good, "verify", trust=trust)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks pass" in result.stdout
    result = pmc(lab, good, "apply", trust=trust, yes=True)
    assert result.returncode == 0 and "Nothing to apply." in result.stdout

    # the history file holds no password
    raw = b"".join(p.read_bytes() for p in state_db_path().parent.iterdir() if p.is_file())
    assert raw and not any(s.root_password.encode() in raw for s in lab.servers.values())


def test_combined_apply_on_rocky_makes_root_key_login_effective_past_a_drop_in(
    fresh_rocky_lab: LabCluster,
    secret_service: SecretServiceSession,
    isolated_dirs: PmcDirs,
    tmp_path: Path,
) -> None:
    """Issue 16's case through the CLI: on the rocky flavour a drop-in sets PermitRootLogin no
    (root cannot log in; PMC logs in as the operator, with sudo). `pmc setup apply
    --architecture combined` writes PMC's drop-in that sorts first, and the plan it prints
    says where the value came from and where it will; afterwards sshd -T inside each server
    lets root in by key from its peer, verify passes, a second plan has nothing to change,
    and the administrator's drop-in is untouched."""
    lab = fresh_rocky_lab
    forbid_root_login_in_drop_in(lab)
    theirs = hash_files(lab, (SSHD_DROP_INS + "01-permitrootlogin.conf",))
    cluster = lab_cluster(lab, Architecture.COMBINED, user="operator")
    inventory = write_inventory(tmp_path / "lab.toml", cluster)
    trust = fingerprints(lab)
    combined = ("--architecture", "combined")
    for srv in lab.servers.values():
        secrets.set_password("lab", srv.name, srv.password_of("operator"))
    try:
        applied = pmc(lab, inventory, "apply", *combined, trust=trust, yes=True)
        verified = pmc(lab, inventory, "verify", *combined, trust=trust)
        planned = pmc(lab, inventory, "plan", *combined, trust=trust)
    finally:
        for srv in lab.servers.values():
            secrets.delete_password("lab", srv.name)

    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (
        "effective: sshd PermitRootLogin for root from 127.17.59.129: no"
        " (/etc/ssh/sshd_config.d/01-permitrootlogin.conf:2) → prohibit-password"
        " (/etc/ssh/sshd_config.d/00-pmc.conf:1)"
    ) in applied.stdout, applied.stdout
    for name, peer in (("main", "backup"), ("backup", "main")):
        assert sshd_root_login(lab, name, peer) == "permitrootlogin without-password"
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "all checks pass" in verified.stdout
    assert planned.returncode == 0, planned.stderr
    assert "Nothing to change." in planned.stdout, planned.stdout
    assert hash_files(lab, (SSHD_DROP_INS + "01-permitrootlogin.conf",)) == theirs
    said = "".join(r.stdout + r.stderr for r in (applied, verified, planned))
    script = "'Checking failover on slave... returned 127'"  # copy_config.sh's, quoted
    assert not problems_in_output(said, quoted=(script,)), problems_in_output(said)
