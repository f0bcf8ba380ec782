"""The setup engine against the rehearsal lab: apply, verify, idempotence, rollback, cancel,
a plan gone stale, the audit log, and an sshd restart.

Every test takes a session's shared 2-server lab reset to fresh (``fresh_lab``, ~2 s) instead
of starting its own (~4 s plus namespaces). The tests of each architecture (plan, apply,
verify, second plan empty, copy config) run on both lab flavours (``flavored_lab``): debian
with the lab's stand-ins, and rocky as Playout's Rocky servers are (RHEL's sshd drop-ins,
postgresql.auto.conf, the real firewalld).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from pmc.errors import Cancelled, PmcError
from pmc.inventory import Architecture, Cluster
from pmc.jobs import EventKind, Job, JobEvent
from pmc.lab import LabCluster
from pmc.lab.playout import CONFIG_TABLES
from pmc.plan import Plan, StepKind, render_text
from pmc.remote.credentials import NoCredentials
from pmc.remote.pool import ConnectionPool
from pmc.setup import SetupOptions, make_plan
from pmc.setup.apply import ApplyReport, PlanOutdated, SetupFailed, apply_plan
from pmc.setup.observe import observe_cluster
from pmc.setup.verify import VerifyReport, configuration_tables, verify
from pmc.store import Store, os_user
from tests.setup.labkit import (
    api_request,
    connections,
    hash_files,
    in_lab,
    lab_cluster,
    lab_pool,
    trust_lab,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SERVICES = ("playout-api.service", "postgresql", "sshd")


class Session:
    """One architecture on one lab: plan, apply, verify through the real transport."""

    def __init__(
        self,
        lab: LabCluster,
        architecture: Architecture,
        folder: Path,
        *,
        options: SetupOptions | None = None,
        key_file: Path | None = None,
        store: Store | None = None,
        user: str = "root",
    ) -> None:
        self.lab = lab
        self.cluster: Cluster = lab_cluster(lab, architecture, key_file=key_file, user=user)
        self.options = options or SetupOptions()
        self.store = store
        if key_file:
            self.pool = ConnectionPool(
                known_hosts=trust_lab(lab, folder / "known_hosts"), credentials=NoCredentials()
            )
        else:
            self.pool = lab_pool(lab, folder, user)
        self.events: list[JobEvent] = []
        self.listeners: list[Callable[[JobEvent], None]] = []  # more ears on apply's job

    def plan(self) -> Plan:
        async def go() -> Plan:
            conns = connections(self.pool, self.cluster)
            facts = await observe_cluster(self.cluster, conns)
            return make_plan(self.cluster, facts, options=self.options)

        return in_lab(self.lab, go)

    def apply(self, plan: Plan, *, cancel_after: int | None = None) -> ApplyReport:
        async def go() -> ApplyReport:
            conns = connections(self.pool, self.cluster)
            job = Job(
                "setup",
                "apply",
                lambda ctx: apply_plan(plan, self.cluster, conns, ctx, store=self.store),
                cluster=self.cluster.name,
                store=self.store,
            )
            finished = 0

            def listen(event: JobEvent) -> None:
                nonlocal finished
                self.events.append(event)
                for listener in self.listeners:
                    listener(event)
                if event.kind is EventKind.STEP_FINISHED and event.server is not None:
                    finished += 1
                    if finished == cancel_after:
                        job.cancel()

            job.subscribe(listen)
            return await job.run()

        return in_lab(self.lab, go)

    def verify(self, *, end_to_end: bool = False) -> VerifyReport:
        async def go() -> VerifyReport:
            conns = connections(self.pool, self.cluster)
            return await verify(self.cluster, conns, end_to_end_check=end_to_end)

        return in_lab(self.lab, go)


def sabotage_api_restart(lab: LabCluster, server: str) -> None:
    """The next `systemctl restart playout-api.service` on ``server`` fails (once); a reset
    rewrites the stand-in."""
    lab.servers[server].fail_next_restart(
        "playout-api.service", "Job for playout-api.service failed"
    )


def services_in_db(lab: LabCluster, server: str) -> set[str]:
    with psycopg.connect(lab.servers[server].postgres_dsn) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM dvb_services")}


def assert_services_active(lab: LabCluster) -> None:
    for srv in lab.servers.values():
        for unit in SERVICES:
            assert srv.systemctl("is-active", unit).stdout.strip() == "active", (srv.name, unit)


def test_combined_rollback_then_apply_verify_idempotent_audited(
    flavored_lab: LabCluster, tmp_path: Path
) -> None:
    lab = flavored_lab
    db = tmp_path / "state" / "pmc.sqlite3"
    store = Store.open(db)
    session = Session(lab, Architecture.COMBINED, tmp_path, store=store)
    before = hash_files(lab)

    # 1. a sabotaged step (backup's API will not restart) rolls everything back
    plan = session.plan()
    assert not plan.is_empty
    sabotage_api_restart(lab, "backup")
    with pytest.raises(SetupFailed) as failed:
        session.apply(plan)
    report = failed.value.report
    assert "restart playout-api.service" in (report.failed_step or "")
    assert report.rolled_back and not report.rollback_problems, report.rollback_summary()
    assert hash_files(lab) == before
    assert_services_active(lab)
    # the same plan still matches the servers: nothing was left changed
    assert session.plan().fingerprints == plan.fingerprints

    # 2. apply for real (recorded in the store), then verify with copy config end to end
    plan = session.plan()
    session.apply(plan)
    result = session.verify(end_to_end=True)
    assert result.ok, str(result)
    compared = next(c for c in result.checks if c.name == "configuration tables equal")
    assert compared.detail == f"{len(CONFIG_TABLES)} tables identical on both servers"

    # 3. a second plan is empty
    second = session.plan()
    assert second.is_empty, render_text(second)

    # 4. the audit log: the job, and one entry per changed file with its diff and OS user
    store.close()
    with sqlite3.connect(db) as conn:
        jobs = conn.execute("SELECT id, state, os_user FROM jobs ORDER BY started").fetchall()
        rows = conn.execute(
            "SELECT job_id, server, action, target, detail, os_user FROM audit"
            " WHERE action = 'write-file' ORDER BY id"
        ).fetchall()
    assert [j[1] for j in jobs] == ["failed", "succeeded"]
    applied_job = jobs[1][0]
    written = [
        (s.server, s.path)
        for s in plan.steps
        if s.kind in (StepKind.WRITE_FILE, StepKind.AUTHORIZE_KEY)
    ]
    mine = [r for r in rows if r[0] == applied_job]
    assert [(r[1], r[3]) for r in mine] == written
    for job_id, _server, _action, _target, detail, user in mine:
        data = json.loads(detail)
        assert data["diff"].startswith(("---", "--- /dev/null")), data
        assert user == os_user() and job_id == applied_job
    spoolers = next(json.loads(r[4]) for r in mine if r[3].endswith("spoolers.json"))
    assert '+  {"name":"backup","address":"127.168.1.108","type":"spooler"}' in spoolers["diff"]
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir())
    for srv in lab.servers.values():
        assert srv.root_password.encode() not in raw

    # 5. the manual's web test, both ways
    main, backup = lab.servers["main"], lab.servers["backup"]
    service = {"service_id": 5, "name": "Icareus 5", "provider": "Icareus"}
    assert api_request(lab, main.management_address, "POST", "/api/services", service)[0] == 201
    assert "Icareus 5" in services_in_db(lab, "backup")
    service = {"service_id": 6, "name": "Icareus 6", "provider": "Icareus"}
    assert api_request(lab, backup.management_address, "POST", "/api/services", service)[0] == 201
    assert "Icareus 6" in services_in_db(lab, "main")


def test_configuration_tables_come_from_the_catalog(fresh_lab: LabCluster, tmp_path: Path) -> None:
    """The lab's own list is the oracle; PMC reads the server's catalog."""
    session = Session(fresh_lab, Architecture.DATABASE, tmp_path)
    main = session.cluster.server("main")

    async def go() -> list[str]:
        return await configuration_tables(connections(session.pool, session.cluster), main)

    assert sorted(in_lab(fresh_lab, go)) == sorted(CONFIG_TABLES)


def test_database_apply_verify_copy_config(flavored_lab: LabCluster, tmp_path: Path) -> None:
    session = Session(flavored_lab, Architecture.DATABASE, tmp_path)
    assert not session.verify().ok  # nothing set up yet: the checks say so
    session.apply(session.plan())
    result = session.verify(end_to_end=True)
    assert result.ok, str(result)
    assert session.plan().is_empty


def test_web_one_way_then_symmetric(flavored_lab: LabCluster, tmp_path: Path) -> None:
    lab = flavored_lab
    main, backup = lab.servers["main"], lab.servers["backup"]
    (tmp_path / "one").mkdir()
    one_way = Session(lab, Architecture.WEB_ONE_WAY, tmp_path / "one")
    one_way.apply(one_way.plan())
    assert one_way.verify().ok
    assert one_way.plan().is_empty
    service = {"service_id": 5, "name": "Icareus 5"}
    assert api_request(lab, main.management_address, "POST", "/api/services", service)[0] == 201
    assert "Icareus 5" in services_in_db(lab, "backup")

    symmetric = Session(lab, Architecture.WEB_SYMMETRIC, tmp_path)
    plan = symmetric.plan()
    assert {s.server for s in plan.steps} == {"backup"}
    symmetric.apply(plan)
    result = symmetric.verify()
    assert result.ok, str(result)
    assert symmetric.plan().is_empty
    service = {"service_id": 6, "name": "Icareus 6"}
    assert api_request(lab, backup.management_address, "POST", "/api/services", service)[0] == 201
    assert "Icareus 6" in services_in_db(lab, "main")


def test_cancel_between_steps_leaves_every_server_as_before(
    fresh_lab: LabCluster, tmp_path: Path
) -> None:
    lab = fresh_lab
    session = Session(lab, Architecture.COMBINED, tmp_path)
    before = hash_files(lab)
    plan = session.plan()
    restarts = [i for i, s in enumerate(plan.steps) if s.kind is StepKind.RESTART]
    # cancel once the first restart is done: files written, a service running on them
    with pytest.raises(Cancelled) as cancelled:
        session.apply(plan, cancel_after=restarts[0] + 1)
    # the job passes on the executor's own Cancelled, with the rollback summary
    assert "Rolled back:" in (cancelled.value.hint or ""), cancelled.value.hint
    started = [(e.server, e.message) for e in session.events if e.kind is EventKind.STEP_STARTED]
    done, next_step = plan.steps[restarts[0]], plan.steps[restarts[0] + 1]
    assert (done.server, done.action()) in started
    assert (next_step.server, next_step.action()) not in started  # stopped at the safe point
    assert hash_files(lab) == before
    assert_services_active(lab)
    assert session.plan().fingerprints == plan.fingerprints


def test_a_server_changed_after_the_plan_stops_the_apply(
    fresh_lab: LabCluster, tmp_path: Path
) -> None:
    lab = fresh_lab
    session = Session(lab, Architecture.DATABASE, tmp_path)
    plan = session.plan()
    hba = lab.servers["backup"].path("/opt/playout/db/pg_hba.conf")
    hba.write_text(hba.read_text() + "# edited by a colleague meanwhile\n")
    before = hash_files(lab)
    with pytest.raises(PlanOutdated) as outdated:
        session.apply(plan)
    assert str(outdated.value).startswith(
        "backup changed since the plan was made; nothing was changed"
    )
    assert hash_files(lab) == before
    assert not [e for e in session.events if e.kind is EventKind.STEP_STARTED and e.server]


def _sshd_starts(lab: LabCluster, name: str) -> int:
    return lab.servers[name].path("/var/log/sshd.log").read_text().count("Server listening on")


def authorize_pmc_key(lab: LabCluster, folder: Path) -> Path:
    """A new key pair in ``folder``, its public key root's only authorized key on every
    server; the private key's path (PMC logs in by it)."""
    key = folder / "pmc_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    for srv in lab.servers.values():
        keys = srv.path("/root/.ssh/authorized_keys")
        keys.write_text(key.with_suffix(".pub").read_text())
        keys.chmod(0o600)
    return key


def test_harden_root_login_restarts_sshd_and_pmc_keeps_working(
    fresh_lab: LabCluster, tmp_path: Path
) -> None:
    """Fresh Rocky 8 says PermitRootLogin yes; hardening changes it, sshd restarts and comes
    back, PMC (logged in by key) carries on, and root passwords are refused afterwards."""
    lab = fresh_lab
    key = authorize_pmc_key(lab, tmp_path)
    options = SetupOptions(harden_root_login=True)
    session = Session(lab, Architecture.DATABASE, tmp_path, options=options, key_file=key)
    starts = {name: _sshd_starts(lab, name) for name in lab.servers}

    plan = session.plan()
    sshd_edits = [s for s in plan.steps if (s.path or "").endswith("sshd_config")]
    assert {s.server for s in sshd_edits} == {"main", "backup"}
    assert all("+PermitRootLogin prohibit-password" in s.diff() for s in sshd_edits)
    assert {(s.server, s.service) for s in plan.steps if s.service == "sshd"} == {
        ("main", "sshd"),
        ("backup", "sshd"),
    }
    session.apply(plan)

    for name, srv in lab.servers.items():
        # the log was new at the reset: one start before, exactly one restart since
        assert starts[name] > 0 and _sshd_starts(lab, name) == 2 * starts[name], name
        assert srv.systemctl("is-active", "sshd").stdout.strip() == "active"
        config = srv.path("/etc/ssh/sshd_config").read_text()
        assert "PermitRootLogin prohibit-password" in config
    # PMC's key connection survived (or reconnected): the same pool plans again, empty
    assert session.plan().is_empty
    assert session.verify().ok
    # and root passwords are now refused
    (tmp_path / "pw").mkdir()
    by_password = Session(lab, Architecture.DATABASE, tmp_path / "pw")
    with pytest.raises(PmcError):
        by_password.plan()


def test_hardening_a_password_login_is_refused_before_anything_changes(
    fresh_lab: LabCluster, tmp_path: Path
) -> None:
    options = SetupOptions(harden_root_login=True)
    session = Session(fresh_lab, Architecture.DATABASE, tmp_path, options=options)
    before = hash_files(fresh_lab)
    with pytest.raises(PmcError, match="as root with a password"):
        session.plan()
    assert hash_files(fresh_lab) == before
