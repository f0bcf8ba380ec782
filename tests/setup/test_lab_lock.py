"""The setup executor and the cluster lock on the rehearsal lab: when an apply loses its lock
on a server halfway (its holding process ended, as with its SSH session) and its rollback
comes, the rollback takes the lock again first — or, when another job holds the server by
then, leaves that server alone and says so."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pmc.cluster_lock import Holder, ServerLock
from pmc.inventory import Architecture
from pmc.jobs import EventKind, JobEvent
from pmc.lab import LabCluster
from pmc.setup.apply import SetupFailed
from tests.setup.labkit import connections, lab_pool
from tests.setup.test_lab_setup import Session, sabotage_api_restart

pytestmark = [pytest.mark.lab, pytest.mark.slow]


class Intruder:
    """Another desktop's job: takes backup's server lock once asked, holds it until told."""

    def __init__(self, lab: LabCluster, session: Session, folder: Path) -> None:
        self.lab, self.session, self.folder = lab, session, folder
        self.holding = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.lab.enter_operator_namespace()

        async def hold() -> None:
            pool = lab_pool(self.lab, self.folder)
            try:
                conn = connections(pool, self.session.cluster)["backup"]
                holder = Holder("intruder", "desk-2", "9.9", "import into backup", 0.0)
                lock, other, _left = await ServerLock.take(conn, holder)
                assert lock is not None, other
                self.holding.set()
                await asyncio.to_thread(self.done.wait, 300)
                await lock.release()
            finally:
                await pool.close()

        asyncio.run(hold())


def _lose_the_lock_on_backup(lab: LabCluster, then: Intruder | None) -> Callable[[JobEvent], None]:
    """A job listener: after the first step on a server, backup's holding process is killed
    (the server releases the lock); ``then`` takes it for another job."""
    fired = threading.Event()

    def listen(event: JobEvent) -> None:
        if fired.is_set() or event.kind is not EventKind.STEP_FINISHED or not event.server:
            return
        fired.set()
        lab.servers["backup"].run(["pkill", "-f", "pmc-lock"])
        if then is not None:
            then.thread.start()
            assert then.holding.wait(60), "the other job did not get the lock"

    return listen


def test_a_rollback_takes_the_lost_lock_again(fresh_lab: LabCluster, tmp_path: Path) -> None:
    lab = fresh_lab
    session = Session(lab, Architecture.COMBINED, tmp_path)
    plan = session.plan()
    sabotage_api_restart(lab, "backup")
    session.listeners.append(_lose_the_lock_on_backup(lab, None))
    with pytest.raises(SetupFailed) as failed:
        session.apply(plan)
    assert "Rolled back:" in str(failed.value) and "COULD NOT" not in str(failed.value)
    said = [e.message for e in session.events if e.kind is EventKind.LOG]
    assert "backup: the cluster lock was taken again after the dropped connection" in said


def test_a_rollback_leaves_a_server_alone_that_another_job_holds_by_then(
    fresh_lab: LabCluster, tmp_path: Path
) -> None:
    lab = fresh_lab
    session = Session(lab, Architecture.COMBINED, tmp_path)
    plan = session.plan()
    sabotage_api_restart(lab, "backup")
    other = Intruder(lab, session, tmp_path / "other")
    session.listeners.append(_lose_the_lock_on_backup(lab, other))
    try:
        with pytest.raises(SetupFailed) as failed:
            session.apply(plan)
        message = str(failed.value)
        assert "COULD NOT roll back: " in message, message
        assert (
            "backup (127.168.1.108): cluster lab is in use: intruder on desk-2 (PMC 9.9) runs "
            "'import into backup'" in message
        )
        assert "Nothing was rolled back." in message  # nothing touched under the other job
    finally:
        other.done.set()
        other.thread.join(60)
        lab.reset()
