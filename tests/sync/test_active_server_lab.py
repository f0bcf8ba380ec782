"""After a switchover the active server is the source of every sync not told otherwise, with
both engines, on the redundant lab: Playout's copy config runs on backup (its replicate.conf
lists itself first) and the delta engine copies backup → main; each sync leaves the state of
both servers in their audit logs, so that the next one knows what changed since. The
end-to-end verify (copy config once) goes the same way, and not over main's own changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from pmc.jobs import EventKind, Job, JobState
from pmc.setup.verify import Check, end_to_end
from pmc.sync.runner import Engine, SyncRequest, SyncRunner, finished
from tests.setup.labkit import connections
from tests.sync.labkit import SyncLab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

AUDIT_LOG = "/var/log/pmc/audit.jsonl"


@pytest.fixture
def switched_lab(clean_sync_lab: SyncLab) -> Iterator[SyncLab]:
    """The shared lab, reset; afterwards without the audit logs this test's syncs wrote (the
    other sync tests start from no record of an earlier sync)."""
    yield clean_sync_lab
    for server in (clean_sync_lab.main, clean_sync_lab.backup):
        server.run(["rm", "-f", "--", AUDIT_LOG], check=True)


def test_after_a_switchover_both_engines_copy_from_the_active_backup(
    switched_lab: SyncLab,
) -> None:
    lab = switched_lab
    switched = dataclasses.replace(lab.cluster, active="backup")

    def sync(engine: Engine) -> Job[object]:
        async def go() -> Job[object]:
            pool = lab.pool()
            runner = SyncRunner(lambda _n: switched, pool)
            try:
                job = runner.submit(SyncRequest("lab", engine))
                await finished(job)
                return job
            finally:
                await runner.close()
                await pool.close()

        return lab.run(go)

    for engine, service in ((Engine.PLAYOUT, 31), (Engine.DELTA, 32)):
        name = f"On air from backup {service}"
        lab.sql("backup", "INSERT INTO dvb_services (service_id, name, provider)"
                f" VALUES ({service}, '{name}', 'Icareus')")  # fmt: skip
        job = sync(engine)
        steps = [e.message for e in job.events if e.kind is EventKind.STEP_STARTED]
        assert job.state is JobState.SUCCEEDED, (job.error, steps)
        assert job.title == f"Synchronize lab: backup → main ({engine.value})"
        if engine is Engine.PLAYOUT:
            assert "copy_config.sh on backup (attempt 1)" in steps, steps
        found = lab.sql("main", f"SELECT name FROM dvb_services WHERE service_id = {service}")
        assert found == name
        assert "look for changes made on main since the last sync" in steps, steps

    async def verify() -> list[Check]:
        pool = lab.pool()
        try:
            return await end_to_end(switched, connections(pool, switched))
        finally:
            await pool.close()

    lab.sql("main", "INSERT INTO dvb_services (service_id, name, provider)"
            " VALUES (33, 'Made on main', 'Icareus')")  # fmt: skip
    (refused,) = lab.run(verify)
    assert (refused.name, refused.server, refused.ok) == ("copy_config.sh", "backup", False)
    assert refused.detail.startswith("not run: main has 1 row in 1 table changed since ")
    assert refused.detail.endswith("; syncing from backup would discard them"), refused.detail
    assert refused.fix == (
        "synchronize from main first (pmc sync run --cluster lab --from main), then verify again"
    )
    assert lab.sql("main", "SELECT name FROM dvb_services WHERE service_id = 33") == "Made on main"
    lab.sql("main", "DELETE FROM dvb_services WHERE service_id = 33")
    checks = lab.run(verify)
    assert [(c.name, c.server, c.ok) for c in checks] == [
        ("copy_config.sh", "backup", True), ("configuration tables equal", "main", True),
    ], checks  # fmt: skip
