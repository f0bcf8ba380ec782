"""The setup engine against the rehearsal lab: apply, verify, idempotence, rollback.

One fresh lab per architecture group (labs take ~10 s to start): combined (with the
sabotaged-apply rollback test first, on the still-fresh servers), database, and web one-way
followed by web symmetric on the same servers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from pmc.errors import LabError
from pmc.inventory import Architecture, Cluster
from pmc.jobs import Job, JobEvent
from pmc.plan import Plan, render_text
from pmc.setup import make_plan
from pmc.setup.apply import SetupFailed, apply_plan
from pmc.setup.observe import observe_cluster
from pmc.setup.verify import VerifyReport, verify
from tests.setup.labkit import (
    api_request,
    connections,
    hash_files,
    in_operator_namespace,
    lab_cluster,
    lab_pool,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]

TOUCHED = [
    "/opt/playout/api/config/spoolers.json",
    "/opt/playout/api/config/replicate.conf",
    "/opt/playout/db/pg_hba.conf",
    "/opt/playout/db/postgresql.conf",
    "/etc/ssh/sshd_config",
    "/root/.ssh/authorized_keys",
    "/root/.ssh/known_hosts",
    "/root/.ssh/id_ed25519",
    "/root/.ssh/id_ed25519.pub",
    "/opt/playout/.failover-peer",
    "/opt/playout/.lab/firewalld.json",
]


def start_lab(servers: int = 2) -> Any:
    from pmc.lab import control

    try:
        control.check_machine()
    except LabError as exc:
        pytest.skip(f"the lab cannot run here: {exc}")
    return control.up(
        servers=servers, state="fresh", lab_id=f"ts{os.getpid() % 10000}{uuid.uuid4().hex[:3]}"
    )


@pytest.fixture(scope="module")
def fresh_lab() -> Iterator[Any]:
    lab = start_lab()
    try:
        yield lab
    finally:
        lab.down()


class Session:
    """One architecture on one lab: plan, apply, verify through the real transport."""

    def __init__(self, lab: Any, architecture: Architecture) -> None:
        self.lab = lab
        self.cluster: Cluster = lab_cluster(lab, architecture)
        self.pool = lab_pool(lab, self.cluster)
        self.events: list[JobEvent] = []

    def plan(self) -> Plan:
        async def go() -> Plan:
            conns = connections(self.pool, self.cluster)
            return make_plan(self.cluster, await observe_cluster(self.cluster, conns))

        return in_operator_namespace(self.lab, go)

    def apply(self, plan: Plan) -> Any:
        async def go() -> Any:
            conns = connections(self.pool, self.cluster)
            job = Job("setup", "apply", lambda ctx: apply_plan(plan, self.cluster, conns, ctx))
            job.subscribe(self.events.append)
            return await job.run()

        return in_operator_namespace(self.lab, go)

    def verify(self, *, end_to_end: bool = False) -> VerifyReport:
        async def go() -> VerifyReport:
            conns = connections(self.pool, self.cluster)
            return await verify(self.cluster, conns, end_to_end_check=end_to_end)

        return in_operator_namespace(self.lab, go)


def sabotage_api_restart(lab: Any, server: str) -> None:
    """The next `systemctl restart playout-api.service` on ``server`` fails (once)."""
    srv = lab.servers[server]
    stand_in = srv.path("/usr/local/sbin/systemctl")
    real = stand_in.with_name("systemctl.real")
    stand_in.rename(real)
    stand_in.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = restart ] && [ "$2" = playout-api.service ] && [ -e /tmp/pmc-sabotage ];'
        " then rm -f /tmp/pmc-sabotage; echo 'Job for playout-api.service failed' >&2; exit 1; fi\n"
        'exec /usr/local/sbin/systemctl.real "$@"\n'
    )
    stand_in.chmod(0o755)
    srv.path("/tmp/pmc-sabotage").write_text("1\n")


def services_in_backup_db(lab: Any, server: str) -> set[str]:
    with psycopg.connect(lab.servers[server].postgres_dsn) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM dvb_services")}


def test_combined_rollback_then_apply_verify_idempotent(fresh_lab: Any) -> None:
    lab = fresh_lab
    session = Session(lab, Architecture.COMBINED)
    before = hash_files(lab, TOUCHED)

    # 1. a sabotaged step (backup's API will not restart) rolls everything back
    plan = session.plan()
    assert not plan.is_empty
    sabotage_api_restart(lab, "backup")
    with pytest.raises(SetupFailed) as failed:
        session.apply(plan)
    report = failed.value.report
    assert "restart playout-api.service" in (report.failed_step or "")
    assert report.rolled_back and not report.rollback_problems, report.rollback_summary()
    assert hash_files(lab, TOUCHED) == before
    for srv in lab.servers.values():
        for unit in ("playout-api.service", "postgresql", "sshd"):
            assert srv.systemctl("is-active", unit).stdout.strip() == "active", (srv.name, unit)
    # the same plan still matches the servers: nothing was left changed
    assert session.plan().fingerprints == plan.fingerprints

    # 2. apply for real, then verify with copy config end to end
    session.apply(session.plan())
    result = session.verify(end_to_end=True)
    assert result.ok, str(result)

    # 3. a second plan is empty
    second = session.plan()
    assert second.is_empty, render_text(second)

    # 4. the manual's web test, both ways
    main, backup = lab.servers["main"], lab.servers["backup"]
    status, _ = api_request(
        lab,
        main.management_address,
        "POST",
        "/api/services",
        {"service_id": 5, "name": "Icareus 5", "provider": "Icareus"},
    )
    assert status == 201
    assert "Icareus 5" in services_in_backup_db(lab, "backup")
    status, _ = api_request(
        lab,
        backup.management_address,
        "POST",
        "/api/services",
        {"service_id": 6, "name": "Icareus 6", "provider": "Icareus"},
    )
    assert status == 201
    assert "Icareus 6" in services_in_backup_db(lab, "main")


def test_database_apply_verify_copy_config() -> None:
    lab = start_lab()
    try:
        session = Session(lab, Architecture.DATABASE)
        session.apply(session.plan())
        result = session.verify(end_to_end=True)
        assert result.ok, str(result)
        assert session.plan().is_empty
    finally:
        lab.down()


def test_web_one_way_then_symmetric() -> None:
    lab = start_lab()
    try:
        main, backup = lab.servers["main"], lab.servers["backup"]
        one_way = Session(lab, Architecture.WEB_ONE_WAY)
        one_way.apply(one_way.plan())
        assert one_way.verify().ok
        assert one_way.plan().is_empty
        status, _ = api_request(
            lab,
            main.management_address,
            "POST",
            "/api/services",
            {"service_id": 5, "name": "Icareus 5"},
        )
        assert status == 201
        assert "Icareus 5" in services_in_backup_db(lab, "backup")

        symmetric = Session(lab, Architecture.WEB_SYMMETRIC)
        plan = symmetric.plan()
        assert {s.server for s in plan.steps} == {"backup"}
        symmetric.apply(plan)
        result = symmetric.verify()
        assert result.ok, str(result)
        assert symmetric.plan().is_empty
        status, _ = api_request(
            lab,
            backup.management_address,
            "POST",
            "/api/services",
            {"service_id": 6, "name": "Icareus 6"},
        )
        assert status == 201
        assert "Icareus 6" in services_in_backup_db(lab, "main")
    finally:
        lab.down()
