"""Check before restart, on the rehearsal lab: a configuration the daemon itself refuses
(``sshd -t``; PostgreSQL's ``postgres -C`` and ``pg_hba_file_rules``) is rolled back, the
daemon is never restarted on it, and the operator reads the daemon's own words."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmc.inventory import Architecture
from pmc.lab import LabCluster
from pmc.setup import SetupOptions
from pmc.setup.apply import SetupFailed
from tests.setup.labkit import hash_files
from tests.setup.test_lab_setup import Session, _sshd_starts, authorize_pmc_key

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def _postgres_pid(lab: LabCluster, name: str) -> str:
    return lab.servers[name].path("/opt/playout/db/postmaster.pid").read_text().split()[0]


def test_an_sshd_config_that_sshd_refuses_is_rolled_back_without_a_restart(
    fresh_lab: LabCluster, tmp_path: Path
) -> None:
    """backup's sshd_config holds a line sshd does not know (written after sshd started, so
    the running sshd does not mind). Hardening root's login rewrites the file: ``sshd -t``
    refuses it, so backup's sshd is never restarted (a restart would have locked everyone
    out) and the file is restored."""
    lab = fresh_lab
    key = authorize_pmc_key(lab, tmp_path)
    config = lab.servers["backup"].path("/etc/ssh/sshd_config")
    config.write_text(config.read_text() + "PmcUnknownOption yes\n")
    options = SetupOptions(harden_root_login=True)
    session = Session(lab, Architecture.DATABASE, tmp_path, options=options, key_file=key)
    before = hash_files(lab)
    starts = _sshd_starts(lab, "backup")
    plan = session.plan()
    assert any(s.server == "backup" and s.service == "sshd" for s in plan.steps)
    with pytest.raises(SetupFailed) as failed:
        session.apply(plan)
    message = str(failed.value)
    assert "sshd -t rejects /etc/ssh/sshd_config" in message, message
    assert "Bad configuration option: PmcUnknownOption" in message  # sshd's own words
    assert "sshd was not restarted" in message
    assert _sshd_starts(lab, "backup") == starts
    assert hash_files(lab) == before
    assert lab.servers["backup"].systemctl("is-active", "sshd").stdout.strip() == "active"


def test_a_postgresql_conf_that_postgres_refuses_is_rolled_back_without_a_restart(
    fresh_lab: LabCluster, tmp_path: Path
) -> None:
    """backup's postgresql.conf holds a value PostgreSQL takes only at a restart, and an
    invalid one: the apply that changes listen_addresses stops at PostgreSQL's own check,
    the files are restored, PostgreSQL keeps running (the same postmaster)."""
    lab = fresh_lab
    conf = lab.servers["backup"].path("/opt/playout/db/postgresql.conf")
    conf.write_text(conf.read_text() + "max_connections = many\n")
    session = Session(lab, Architecture.DATABASE, tmp_path)
    before = hash_files(lab)
    postmaster = _postgres_pid(lab, "backup")
    plan = session.plan()
    assert any(s.server == "backup" and s.service == "postgresql" for s in plan.steps)
    with pytest.raises(SetupFailed) as failed:
        session.apply(plan)
    message = str(failed.value)
    assert "PostgreSQL rejects its configuration" in message, message
    assert 'invalid value for parameter "max_connections": "many"' in message
    assert _postgres_pid(lab, "backup") == postmaster
    assert hash_files(lab) == before
    assert lab.servers["backup"].systemctl("is-active", "postgresql").stdout.strip() == "active"
