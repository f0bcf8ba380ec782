"""The lab's backup switched from its ed25519 host key to an RSA-only sshd: every `pmc` command
that connects refuses it as a changed key with both fingerprints and exit 1, sending nothing;
`pmc hostkey replace` with the right fingerprint is the way back. Real lab, real keyring,
`pmc` run as the operator runs it (a subprocess in the lab's operator namespace)."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import paramiko
import pytest

from pmc import paths, secrets
from pmc.inventory import Architecture, Inventory
from pmc.inventory_file import save_inventory
from pmc.lab import LabCluster
from pmc.remote.host_key_replace import AUDIT_ACTION
from pmc.remote.host_keys import KnownHosts, fingerprint, host_id
from pmc.store import Store
from tests.fixtures.keyring import PmcDirs, SecretServiceSession
from tests.setup.labkit import lab_cluster

CLUSTER = "rsa-switch"
pytestmark = [pytest.mark.lab, pytest.mark.keyring, pytest.mark.slow, pytest.mark.timeout(900)]


def _key(line: str) -> paramiko.PKey:
    kind, blob = line.split()[:2]
    return paramiko.PKey.from_type_string(kind, base64.b64decode(blob))


def test_backup_switched_to_rsa_is_refused_by_every_connecting_command(
    fresh_lab: LabCluster,
    secret_service: SecretServiceSession,
    isolated_dirs: PmcDirs,
    tmp_path: Path,
) -> None:
    lab = fresh_lab
    main, backup = lab.servers["main"], lab.servers["backup"]
    for srv in (main, backup):  # under a name of its own: the keyring lives all session
        secrets.set_password(CLUSTER, srv.name, srv.root_password)
    inventory = tmp_path / "lab.toml"
    save_inventory(Inventory((lab_cluster(lab, Architecture.COMBINED, CLUSTER),)), inventory)
    known = KnownHosts(paths.known_hosts_path())
    for kind in ("ed25519", "ecdsa", "rsa"):
        known.add(host_id(main.management_address, 22), _key(main.host_key(kind)))
    trusted = _key(backup.host_key("ed25519"))
    known.add(host_id(backup.management_address, 22), trusted)  # as a first contact leaves it
    old, new = fingerprint(trusted), fingerprint(_key(backup.host_key("rsa")))

    config = backup.path("/etc/ssh/sshd_config")
    original = config.read_text()
    others = ("HostKey /etc/ssh/ssh_host_ed25519", "HostKey /etc/ssh/ssh_host_ecdsa")
    config.write_text(
        "".join(ln for ln in original.splitlines(keepends=True) if not ln.startswith(others))
    )
    log = backup.path("/var/log/sshd.log")

    def pmc(*argv: str) -> tuple[int, str]:
        done = lab.operator_run(
            [sys.executable, "-m", "pmc", "--inventory", str(inventory), *argv],
            input="", check=False, timeout=300,
        )  # fmt: skip
        return done.returncode, done.stdout + done.stderr

    try:
        assert backup.systemctl("restart", "sshd").returncode == 0
        code, err = pmc("export", "main", "-o", str(tmp_path / "main.pmcbundle"), "--no-data")
        assert code == 0, err  # main is untouched
        logged = len(log.read_text(errors="replace"))
        for argv in (
            ("setup", "plan", "--cluster", CLUSTER),
            ("setup", "verify", "--cluster", CLUSTER),
            ("export", "backup", "-o", str(tmp_path / "backup.pmcbundle")),
            ("import", str(tmp_path / "main.pmcbundle"), "backup", "--dry-run"),
            ("sync", "diff", "--cluster", CLUSTER),
            ("sync", "run", "--cluster", CLUSTER, "--yes"),
        ):
            code, err = pmc(*argv)
            said = f"{' '.join(argv)} exited {code}:\n{err}"
            assert code == 1, said
            assert "host key has changed" in err, said
            assert f"ssh-ed25519 {old}" in err and f"ssh-rsa {new}" in err, said
            assert "not known yet" not in err and "Traceback" not in err, said
            assert "paramiko" not in err, said
        assert not (tmp_path / "backup.pmcbundle").exists()
        sent = log.read_text(errors="replace")[logged:]
        assert "Accepted" not in sent and "Failed" not in sent and "userauth" not in sent
        assert list(KnownHosts(paths.known_hosts_path()).keys_for(backup.management_address)) == [
            "ssh-ed25519"
        ]

        # the way back: the fingerprint read on the server's console
        code, err = pmc("hostkey", "replace", f"{CLUSTER}/backup", "--fingerprint", old)
        assert code == 1 and "presents no host key with the fingerprint" in err, err
        code, err = pmc("hostkey", "replace", f"{CLUSTER}/backup", "--fingerprint", new)
        assert code == 0, err
        code, out = pmc("sync", "diff", "--cluster", CLUSTER)  # 1: the fresh lab drifts
        assert f"Drift of cluster {CLUSTER}" in out and "host key" not in out, out
        store = Store.open(paths.state_db_path())
        assert [r.action for r in store.audit_log()] == [AUDIT_ACTION]
        store.close()
    finally:
        config.write_text(original)
        backup.systemctl("restart", "sshd")
        for srv in (main, backup):
            secrets.forget_server(CLUSTER, srv.name)
