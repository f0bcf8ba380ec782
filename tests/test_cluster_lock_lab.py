"""One operator at a time per cluster, on the rehearsal lab: ``pmc`` processes started together
(as on one desktop, or as on two: separate PMC folders, so that only the servers' locks can
see each other), a holder killed with SIGKILL, and the lock API itself."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pmc.cluster_lock import ClusterBusy, Holder, cluster_lock
from pmc.inventory import Architecture
from pmc.lab import LabCluster
from pmc.probes import PoolRunner, probe_lock
from tests.lab_cli import Desktop, Pmc, finish
from tests.setup.labkit import connections, in_lab, lab_cluster, lab_pool

pytestmark = [pytest.mark.lab, pytest.mark.keyring, pytest.mark.slow, pytest.mark.timeout(900)]

LOCK = "/run/pmc/cluster.lock"


def together(*procs: subprocess.Popen[str]) -> list[tuple[int, str]]:
    return [finish(p) for p in procs]


def one_ran_one_refused(results: list[tuple[int, str]], job: str) -> str:
    """Exactly one succeeded; the other exited 1 naming the holder and its job. Its text."""
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    refused = next(text for code, text in results if code == 1)
    assert "is in use: root on " in refused and f"runs '{job}" in refused, refused
    assert "nothing was changed" in refused and "Traceback" not in refused
    return refused


def test_two_setup_applies_from_two_desktops_one_runs(pmc: Pmc, tmp_path: Path) -> None:
    lab = pmc.lab
    one, two = Desktop(tmp_path / "one"), Desktop(tmp_path / "two")
    try:
        results = together(
            pmc.start(one, "setup", "apply", "--cluster", "lab", "--yes"),
            pmc.start(two, "setup", "apply", "--cluster", "lab", "--yes"),
        )
        refused = one_ran_one_refused(results, "setup apply (combined) to lab")
        # the servers' lock refused it (the desktops do not see each other)
        assert "backup (127.168.1.108): cluster lab is in use" in refused
        assert "wrote " not in refused  # it changed nothing
        # the one that ran did its whole work: nobody removed its new key meanwhile
        code, text = finish(pmc.start(one, "setup", "verify", "--cluster", "lab"))
        assert code == 0 and "all checks pass" in text, text
        assert lab.servers["main"].path(LOCK).read_text() == ""  # released
    finally:
        lab.reset()


def test_two_syncs_on_one_desktop_one_runs(pmc: Pmc, tmp_path: Path) -> None:
    desk = Desktop(tmp_path / "desk")
    results = together(
        pmc.start(desk, "sync", "run", "--cluster", "lab"),
        pmc.start(desk, "sync", "run", "--cluster", "lab"),
    )
    refused = one_ran_one_refused(results, "sync backup from main")
    assert "this computer: cluster lab is in use" in refused  # the local lock, before any SSH


def test_an_import_beside_a_sync_one_runs(pmc: Pmc, tmp_path: Path) -> None:
    lab = pmc.lab
    bundle = tmp_path / "main.pmcbundle"
    code, text = finish(pmc.start(Desktop(tmp_path / "x"), "export", "main", "-o", str(bundle)))
    assert code == 0, text
    try:
        results = together(
            pmc.start(Desktop(tmp_path / "one"), "import", str(bundle), "lab/backup", "--yes"),
            pmc.start(Desktop(tmp_path / "two"), "sync", "run", "--cluster", "lab"),
        )
        codes = sorted(code for code, _ in results)
        assert codes == [0, 1], results
        refused = next(text for code, text in results if code == 1)
        assert "is in use: root on " in refused and (
            "runs 'import main.pmcbundle into backup'" in refused
            or "runs 'sync backup from main" in refused
        ), refused
    finally:
        lab.reset()


def test_the_holder_killed_the_next_run_proceeds_at_once(pmc: Pmc, tmp_path: Path) -> None:
    """An import waits at its question (on a terminal) holding the lock; SIGKILL it: the
    servers' kernel released the lock with its SSH session, and a sync runs at once, saying
    that it took over a lock left behind."""
    lab = pmc.lab
    bundle = tmp_path / "main.pmcbundle"
    desk = Desktop(tmp_path / "desk")
    code, text = finish(pmc.start(desk, "export", "main", "-o", str(bundle), "--no-data"))
    assert code == 0, text
    master, slave = pty.openpty()
    holder = pmc.start(desk, "import", str(bundle), "lab/backup", stdin=slave)
    os.close(slave)
    try:
        assert holder.stdout is not None
        seen = ""
        while "Type yes to import" not in seen:
            char = holder.stdout.read(1)
            assert char, f"the import ended early: {seen}"
            seen += char
        held = Holder.parse(lab.servers["backup"].path(LOCK).read_text())
        assert held is not None and held.job == "import main.pmcbundle into backup", held
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
        started = time.monotonic()
        code, text = finish(pmc.start(desk, "sync", "run", "--cluster", "lab"))
        assert code == 0, text
        assert "the cluster lock left by root on" in text and "taken over" in text, text
        print(f"the next run took {time.monotonic() - started:.1f} s from start to end")
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate()
        os.close(master)


def test_the_lock_api_refuses_a_second_job_naming_it_and_nests(
    fresh_lab: LabCluster, tmp_path: Path
) -> None:
    lab = fresh_lab
    cluster = lab_cluster(lab, Architecture.COMBINED)

    async def go() -> tuple[str, float, Holder | None, Holder | None]:
        first, second = lab_pool(lab, tmp_path / "a"), lab_pool(lab, tmp_path / "b")
        try:
            mine, theirs = connections(first, cluster), connections(second, cluster)
            status = PoolRunner(second, cluster.name)  # what the status view reads
            async with cluster_lock(mine.values(), job="switchover"):
                async with cluster_lock([mine["backup"]], job="nested"):  # free: held already
                    pass
                seen = await probe_lock(status, cluster.server("backup"))
                started = time.monotonic()
                try:
                    async with cluster_lock(theirs.values(), job="sync"):
                        raise AssertionError("a second job got the lock")
                except ClusterBusy as exc:
                    message, took = str(exc), time.monotonic() - started
            return message, took, seen, await probe_lock(status, cluster.server("backup"))
        finally:
            await first.close()
            await second.close()

    message, took, seen, after = in_lab(lab, go)
    assert "cluster lab is in use: root on " in message and "runs 'switchover'" in message
    assert seen is not None and seen.job == "switchover"
    assert after is None  # released at the end of the block
    print(f"refused in {took:.2f} s")
