"""Effective configuration against the rocky lab flavour (RHEL's sshd drop-ins,
postgresql.auto.conf, the real firewalld): PMC asks the daemons what they really use, writes
where the value wins, checks it took effect, and rolls back a value that did not. Bytes that
are not UTF-8 stay as they were.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from pmc.errors import PmcError
from pmc.inventory import Architecture
from pmc.lab import LabCluster
from pmc.plan import StepKind, render_text
from pmc.setup import SetupOptions
from pmc.setup.apply import SetupFailed
from pmc.store import Store
from tests.setup.labkit import (
    SSHD_DROP_INS,
    forbid_root_login_in_drop_in,
    hash_files,
    sshd_root_login,
)
from tests.setup.test_lab_setup import Session, assert_services_active

pytestmark = [pytest.mark.lab, pytest.mark.slow]

D = SSHD_DROP_INS
AUTO = "/opt/playout/db/postgresql.auto.conf"


def show_listen(lab: LabCluster, name: str) -> str:
    with psycopg.connect(lab.servers[name].postgres_dsn) as conn:
        row = conn.execute("SHOW listen_addresses").fetchone()
    assert row is not None
    return str(row[0])


def test_a_drop_in_forbidding_root_gets_pmc_s_drop_in_and_root_key_login_works(
    fresh_rocky_lab: LabCluster, tmp_path: Path
) -> None:
    """The issue's case: a drop-in sets PermitRootLogin no (the administrator changed the one
    Rocky's installer wrote; sshd restarted: root cannot log in at all, so PMC logs in as the
    operator with sudo rights). The combined apply makes root's key login effective with
    00-pmc.conf, which sorts first; verify passes; second plan empty; the administrator's
    drop-in is untouched. Before that, a Match block for root that no place PMC may write can
    beat is refused before anything changes, naming its line."""
    lab = fresh_rocky_lab
    forbid_root_login_in_drop_in(lab)
    session = Session(lab, Architecture.COMBINED, tmp_path, user="operator")

    # with a Match block for root at the end no place PMC may write wins: refused, unchanged
    config = lab.servers["main"].path("/etc/ssh/sshd_config")
    rocky = config.read_text()
    config.write_text(rocky + "Match User root\n\tPermitRootLogin no\n")
    before = hash_files(lab)
    with pytest.raises(PmcError) as refused:
        session.plan()
    assert "/etc/ssh/sshd_config:109, in the Match block at line 108 sets no and wins" in str(
        refused.value
    ), str(refused.value)
    assert hash_files(lab) == before
    config.write_text(rocky)

    plan = session.plan()
    drop_ins = [s for s in plan.steps if s.path == D + "00-pmc.conf"]
    assert {s.server for s in drop_ins} == {"main", "backup"}
    step = next(s for s in drop_ins if s.server == "main")
    assert step.before is None and step.after == "PermitRootLogin prohibit-password\n"
    assert str(step.effective[0]) == (
        "sshd PermitRootLogin for root from 127.17.59.129: no (/etc/ssh/sshd_config.d/"
        "01-permitrootlogin.conf:2) → prohibit-password (/etc/ssh/sshd_config.d/00-pmc.conf:1)"
    )
    assert any(s.kind is StepKind.CHECK and "PermitRootLogin" in s.title for s in plan.steps)
    before = hash_files(lab, (D + "01-permitrootlogin.conf", "/etc/ssh/sshd_config"))

    session.apply(plan)
    for name, peer in (("main", "backup"), ("backup", "main")):
        assert sshd_root_login(lab, name, peer) == "permitrootlogin without-password"
    result = session.verify(end_to_end=True)
    assert result.ok, str(result)
    assert session.plan().is_empty
    assert hash_files(lab, (D + "01-permitrootlogin.conf", "/etc/ssh/sshd_config")) == before
    logged = "\n".join(e.message for e in session.events)
    assert "sshd -T -C user=root,host=127.17.59.129" in logged  # the CHECK step's answer


def alter_system_localhost(lab: LabCluster) -> None:
    """An earlier ALTER SYSTEM SET listen_addresses = 'localhost', PostgreSQL restarted since."""
    for srv in lab.servers.values():
        with psycopg.connect(srv.postgres_dsn, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET listen_addresses = 'localhost'")
        assert srv.systemctl("restart", "postgresql").returncode == 0


def sabotage_postgresql_restart(lab: LabCluster, server: str) -> Callable[[], None]:
    """`systemctl restart postgresql` on ``server`` says done and restarts nothing (a reset
    rewrites the stand-in); returns what puts the stand-in back."""
    return lab.servers[server].wrap_systemctl(
        'if [ "$1" = restart ] && [ "$unit" = postgresql ]; then exit 0; fi\n'
    )


def test_listen_addresses_from_alter_system_is_changed_by_alter_system(
    fresh_rocky_lab: LabCluster, tmp_path: Path
) -> None:
    """listen_addresses = 'localhost' in postgresql.auto.conf (an earlier ALTER SYSTEM) beats
    postgresql.conf: PMC plans ALTER SYSTEM. First PostgreSQL is not really restarted on the
    backup: the value does not take effect, the CHECK step fails naming where the value comes
    from, ALTER SYSTEM is undone and every file is byte for byte as before. Then for real:
    SHOW listen_addresses has the eth2 address; verify passes; a second plan is empty."""
    lab = fresh_rocky_lab
    alter_system_localhost(lab)
    session = Session(lab, Architecture.COMBINED, tmp_path)
    plan = session.plan()
    alter = [s for s in plan.steps if s.path == AUTO]
    assert [s.kind for s in alter] == [StepKind.RUN, StepKind.RUN]
    assert "'localhost' (/opt/playout/db/postgresql.auto.conf:3)" in str(alter[0].effective[0])
    assert not [s for s in plan.steps if (s.path or "").endswith("/postgresql.conf")]

    before = hash_files(lab)
    restore_systemctl = sabotage_postgresql_restart(lab, "backup")
    with pytest.raises(SetupFailed) as failed:
        session.apply(plan)
    report = failed.value.report
    assert report.failed_step == "[backup] check: PostgreSQL listens on 127.17.59.129"
    assert (
        "PostgreSQL uses listen_addresses = 'localhost' from"
        " /opt/playout/db/postgresql.auto.conf:3, without 127.17.59.129; its files say"
        " 'localhost,127.17.59.129' (/opt/playout/db/postgresql.auto.conf:3): PostgreSQL has"
        " not restarted with them"
    ) in (report.error or ""), report.error
    assert "backup: ran psql" in report.rollback_summary()
    assert hash_files(lab) == before
    assert_services_active(lab)
    assert show_listen(lab, "main") == "localhost"
    restore_systemctl()

    session.apply(session.plan())
    for name, srv in lab.servers.items():
        assert show_listen(lab, name) == f"localhost,{srv.redundancy_address}"
    result = session.verify()
    assert result.ok, str(result)
    assert session.plan().is_empty


def test_a_latin1_byte_in_sshd_config_survives_plan_and_apply(
    fresh_lab: LabCluster, tmp_path: Path
) -> None:
    """sshd_config with a Latin-1 name in a comment: the plan renders, applies, the audit log
    records it, and every byte but the changed line is as before."""
    lab = fresh_lab
    key = tmp_path / "pmc_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    originals = {}
    for srv in lab.servers.values():
        keys = srv.path("/root/.ssh/authorized_keys")
        keys.write_text(key.with_suffix(".pub").read_text())
        keys.chmod(0o600)
        config = srv.path("/etc/ssh/sshd_config")
        originals[srv.name] = config.read_bytes().replace(
            b"\nPermitRootLogin yes\n", b"\n# Jos\xe9 G\xf3mez: root logs in\nPermitRootLogin yes\n"
        )
        config.write_bytes(originals[srv.name])
    store = Store.open(tmp_path / "pmc.sqlite3")
    session = Session(
        lab,
        Architecture.DATABASE,
        tmp_path,
        options=SetupOptions(harden_root_login=True),
        key_file=key,
        store=store,
    )
    plan = session.plan()
    text = render_text(plan)
    text.encode("utf-8")
    assert "# Jos\\xe9 G\\xf3mez: root logs in" in text
    session.apply(plan)
    store.close()
    for srv in lab.servers.values():
        assert srv.path("/etc/ssh/sshd_config").read_bytes() == originals[srv.name].replace(
            b"\nPermitRootLogin yes\n", b"\nPermitRootLogin prohibit-password\n"
        )
    with sqlite3.connect(tmp_path / "pmc.sqlite3") as db:
        details = [
            json.loads(row[0])
            for row in db.execute("SELECT detail FROM audit WHERE target = '/etc/ssh/sshd_config'")
        ]
    assert len(details) == 2 and all("Jos\\xe9 G\\xf3mez" in d["diff"] for d in details)
    assert session.plan().is_empty
