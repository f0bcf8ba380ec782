"""Acceptance of the sync engines against a redundant two-server lab (real SSH, PostgreSQL,
Slony and copy_config.sh)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from pmc.errors import Cancelled
from pmc.jobs import EventKind, Job, JobContext, JobState
from pmc.store import Store
from pmc.sync import copy_config, delta_engine, drift
from pmc.sync.copy_output import FailureKind
from pmc.sync.runner import Engine, SyncRequest, SyncRunner, finished
from tests.setup.labkit import connections
from tests.sync.labkit import SyncLab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

Body = Callable[[JobContext], Awaitable[Any]]


def run_job(
    lab: SyncLab, make: Callable[[dict[str, Any]], Body], store: Store | None = None
) -> Any:
    return lab.job(make, store)


def delta(lab: SyncLab, dry_run: bool) -> delta_engine.DeltaResult:
    options = delta_engine.DeltaOptions(dry_run=dry_run)
    return run_job(  # type: ignore[no-any-return]
        lab, lambda conns: lambda ctx: delta_engine.delta_sync(lab.cluster, conns, ctx, options)
    )


def playout(lab: SyncLab, confirm: copy_config.Confirm) -> copy_config.CopyConfigResult:
    return run_job(  # type: ignore[no-any-return]
        lab,
        lambda conns: lambda ctx: copy_config.copy_config(lab.cluster, conns, ctx, confirm=confirm),
    )


def edit_main(lab: SyncLab, name: str) -> list[str]:
    """Add service 5, rename service 2, delete the last playlist item; the expected lines."""
    gone = lab.sql("main", "SELECT max(id) FROM playlist_items")
    lab.sql(
        "main",
        "DELETE FROM dvb_services WHERE service_id = 5;"
        f"INSERT INTO dvb_services (service_id, name, provider) VALUES (5, '{name}', 'Icareus');"
        f"UPDATE dvb_services SET name = '{name} 2' WHERE service_id = 2;"
        f"DELETE FROM playlist_items WHERE id = {gone};",
    )
    return [
        f"delete playlist_items ({gone})",
        "insert dvb_services (5)",
        "update dvb_services (2)",
    ]


def backup_has(lab: SyncLab, name: str) -> None:
    assert lab.sql("backup", "SELECT name FROM dvb_services WHERE service_id = 5") == name
    assert lab.sql("backup", "SELECT name FROM dvb_services WHERE service_id = 2") == f"{name} 2"
    assert lab.sql("backup", "SELECT max(id) FROM playlist_items") == lab.sql(
        "main", "SELECT max(id) FROM playlist_items"
    )


def test_delta_engine_dry_run_lists_exactly_the_changes_then_copies_them(sync_lab: SyncLab) -> None:
    lab = sync_lab
    delta(lab, dry_run=False)  # converge (the lab's servers differ in general_settings)
    assert delta(lab, dry_run=True).delta.is_empty
    ts_before = lab.sql("backup", "SELECT string_agg(name, '|' ORDER BY id) FROM ts_outputs")
    expected = edit_main(lab, "Icareus 5")
    dry = delta(lab, dry_run=True)
    assert dry.delta.lines() == expected
    assert lab.sql("backup", "SELECT count(*) FROM dvb_services WHERE service_id = 5") == "0"
    done = delta(lab, dry_run=False)
    assert done.rows_changed == 3
    backup_has(lab, "Icareus 5")
    assert (
        lab.sql("backup", "SELECT string_agg(name, '|' ORDER BY id) FROM ts_outputs") == ts_before
    )
    assert delta(lab, dry_run=True).delta.is_empty


def test_delta_engine_copies_changed_and_removes_extra_files(sync_lab: SyncLab) -> None:
    lab = sync_lab
    lab.main.run(["sh", "-c", "echo new > /opt/playout/data/carousel/new.txt"], check=True)
    lab.backup.run(["sh", "-c", "echo stray > /opt/playout/data/av/stray.bin"], check=True)
    dry = delta(lab, dry_run=True)
    assert "copy file /opt/playout/data/carousel/new.txt" in dry.delta.lines()
    assert "delete file /opt/playout/data/av/stray.bin" in dry.delta.lines()
    delta(lab, dry_run=False)
    assert lab.backup.run(["cat", "/opt/playout/data/carousel/new.txt"]).stdout == "new\n"
    assert (
        lab.backup.run(["test", "-e", "/opt/playout/data/av/stray.bin"], check=False).returncode
        == 1
    )
    assert delta(lab, dry_run=True).delta.is_empty


SYNCS_SEEN = r"""#!/bin/sh
echo "sync $* | $(cat /opt/playout/data/carousel/durable.txt 2>&1)" >> /tmp/pmc-syncs
exec /usr/bin/sync "$@"
"""


def test_copied_files_are_on_disk_when_the_delta_sync_ends(sync_lab: SyncLab) -> None:
    """backup may be put on air after a power cut: what a sync copied there is flushed to its
    disk before the sync says it is done, not left to the kernel's next write-back."""
    lab = sync_lab
    wrapper = lab.backup.path("/usr/local/sbin/sync")
    wrapper.write_text(SYNCS_SEEN)
    wrapper.chmod(0o755)
    lab.main.run(["sh", "-c", "echo durable > /opt/playout/data/carousel/durable.txt"], check=True)
    try:
        delta(lab, dry_run=False)
        log = lab.backup.path("/tmp/pmc-syncs")
        seen = log.read_text().splitlines() if log.exists() else []
        assert "sync -f -- /opt/playout/data/carousel | durable" in seen
    finally:
        wrapper.unlink()
        lab.backup.path("/tmp/pmc-syncs").unlink(missing_ok=True)
        for srv in (lab.main, lab.backup):
            srv.run(["rm", "-f", "/opt/playout/data/carousel/durable.txt"], check=True)


def test_drift_shows_a_file_changed_on_backup(sync_lab: SyncLab) -> None:
    lab = sync_lab
    delta(lab, dry_run=False)
    find = "cd /opt/playout/data/carousel && find . -type f -size +1c | sort | head -1"
    name = lab.main.run(["sh", "-c", find]).stdout.strip().removeprefix("./")
    assert name
    path = f"/opt/playout/data/carousel/{name}"
    # Same size, new content, new mtime: only the hash can tell.
    lab.backup.run(["sh", "-c", f"printf X | dd of={path} bs=1 seek=0 conv=notrunc status=none;"
                    f" touch -d '2020-01-01' {path}"], check=True)  # fmt: skip

    async def go() -> drift.DriftReport:
        pool = lab.pool()
        try:
            return await drift.drift_report(lab.cluster, connections(pool, lab.cluster))
        finally:
            await pool.close()

    report = lab.run(go)
    assert not report.problems
    folders = {f.folder: f for f in report.folders}
    assert folders["/opt/playout/data/carousel"].differing == (name,)
    assert "1 file" in report.summary
    assert f"    differing: {name}" in report.lines()


def test_cancel_in_the_middle_of_a_delta_sync_leaves_backup_as_it_was(sync_lab: SyncLab) -> None:
    lab = sync_lab
    delta(lab, dry_run=False)
    edit_main(lab, "Icareus 6")
    before = lab.sql(
        "backup", "SELECT md5(string_agg(d::text, '|' ORDER BY service_id)) FROM dvb_services d"
    )
    items = lab.sql("backup", "SELECT count(*) FROM playlist_items")
    store = Store.in_memory()

    async def go() -> Job[object]:
        pool = lab.pool()
        runner = SyncRunner(lambda _n: lab.cluster, pool, store=store)
        try:
            job = runner.submit(SyncRequest(lab.cluster.name, Engine.DELTA))

            def press_cancel(event: Any) -> None:
                if event.kind is EventKind.LOG and event.message.startswith("deleted"):
                    job.cancel()  # after the first table was changed, before the commit

            job.subscribe(press_cancel)
            await finished(job)
            return job
        finally:
            await runner.close()
            await pool.close()

    job = lab.run(go)
    assert job.state is JobState.CANCELLED
    assert isinstance(job.error, Cancelled | asyncio.CancelledError)
    assert (
        lab.sql(
            "backup", "SELECT md5(string_agg(d::text, '|' ORDER BY service_id)) FROM dvb_services d"
        )
        == before
    )
    assert lab.sql("backup", "SELECT count(*) FROM playlist_items") == items
    [record] = store.jobs(kind="sync")
    assert record.state == "cancelled"


class Confirmations:
    def __init__(self) -> None:
        self.seen: list[copy_config.Remediation] = []

    async def __call__(self, fix: copy_config.Remediation) -> bool:
        self.seen.append(fix)
        return True


def test_playout_engine_fixes_failover_127_and_copies_changes(sync_lab: SyncLab) -> None:
    lab = sync_lab
    lab.backup.run(["rm", "-f", "/opt/playout/.failover-peer"], check=True)
    edit_main(lab, "Icareus 7")
    confirm = Confirmations()
    result = playout(lab, confirm)
    assert result.remediated == ["run check_failover.sh on backup"]
    assert str(result).endswith("after 1 fix: run check_failover.sh on backup")
    [fix] = confirm.seen
    assert fix.failure.kind is FailureKind.FAILOVER_NOT_CHECKED and fix.failure.returned == 127
    assert fix.plan.steps[0].argv == ("/opt/playout/bin/check_failover.sh", "127.17.59.128")
    assert lab.backup.run(["cat", "/opt/playout/.failover-peer"]).stdout.strip() == "127.17.59.128"
    backup_has(lab, "Icareus 7")


def test_playout_engine_without_confirmation_changes_nothing(sync_lab: SyncLab) -> None:
    lab = sync_lab
    lab.sql("main", "UPDATE replication_status SET status = 'running' WHERE id = 1")

    async def no(_fix: copy_config.Remediation) -> bool:
        return False

    with pytest.raises(copy_config.CopyConfigFailed, match="not confirmed"):
        playout(lab, no)
    assert lab.sql("main", "SELECT status FROM replication_status") == "running"


def test_playout_engine_resets_a_stale_in_progress_status(sync_lab: SyncLab) -> None:
    lab = sync_lab
    lab.sql("main", "UPDATE replication_status SET status = 'running' WHERE id = 1")
    confirm = Confirmations()
    result = playout(lab, confirm)
    assert result.remediated == ["reset the replication status on main"]
    [fix] = confirm.seen
    # After clean copies (the test before) no slon is left: the fix only resets the status.
    [step] = fix.plan.steps
    assert step.argv == ("/opt/playout/bin/replication_stopped.sh",)
    assert any("No copy_config.sh process" in f for f in fix.findings)
    assert "No slon process runs on main, backup." in fix.findings
    assert lab.sql("main", "SELECT status FROM replication_status") == "stopped"


def test_playout_engine_names_and_fixes_the_missing_pg_hba_rule_255(sync_lab: SyncLab) -> None:
    lab = sync_lab
    hba = "/opt/playout/db/pg_hba.conf"
    lab.backup.run(["sed", "-i", "/127.17.59.128/d", hba], check=True)
    lab.backup.systemctl("restart", "postgresql")
    edit_main(lab, "Icareus 8")
    confirm = Confirmations()
    result = playout(lab, confirm)
    assert len(result.remediated) == 1 and "pg_hba.conf" in result.remediated[0]
    [fix] = confirm.seen
    assert fix.failure.returned == 255
    assert any("PostgreSQL of backup" in f for f in fix.findings)
    assert any(s.path == hba and s.server == "backup" for s in fix.plan.steps)
    assert "127.17.59.128" in lab.backup.run(["cat", hba]).stdout
    backup_has(lab, "Icareus 8")


def test_cli_diff_and_run_and_history(
    sync_lab: SyncLab,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pmc.cli import common as cli_common
    from pmc.cli import main
    from pmc.inventory import Inventory
    from pmc.inventory_file import save_inventory

    lab = sync_lab
    inventory = tmp_path / "inventory.toml"
    save_inventory(Inventory((lab.cluster,)), inventory)
    monkeypatch.setenv("PMC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(cli_common, "make_pool", lambda _args: lab.pool())  # lab passwords
    inv = ["--inventory", str(inventory)]
    assert lab.call(main, [*inv, "sync", "run", "--cluster", "lab"]) == 0
    lab.backup.run(["sh", "-c", "echo changed > /opt/playout/data/ts/drift.ts"], check=True)
    capsys.readouterr()
    assert lab.call(main, [*inv, "sync", "diff", "--cluster", "lab", "--no-config"]) == 1
    out = capsys.readouterr().out
    assert "only on backup: drift.ts" in out
    assert lab.call(main, [*inv, "sync", "run", "--cluster", "lab", "--dry-run"]) == 0
    said = capsys.readouterr()
    assert "delete file /opt/playout/data/ts/drift.ts" in said.out
    assert "warning: a sync would be refused: backup has 1 file changed since " in said.err
    # drift.ts was made on backup after the last sync: not overwritten unasked
    assert lab.call(main, [*inv, "sync", "run", "--cluster", "lab"]) == 1
    assert "pmc: backup has 1 file changed since " in capsys.readouterr().err
    assert lab.backup.path("/opt/playout/data/ts/drift.ts").exists()
    run = [*inv, "sync", "run", "--cluster", "lab", "--discard-target-changes"]
    assert lab.call(main, run) == 0
    assert lab.call(main, [*inv, "sync", "diff", "--cluster", "lab", "--no-config"]) == 0
    capsys.readouterr()
    assert lab.call(main, ["sync", "history"]) == 0
    header, *history = capsys.readouterr().out.splitlines()
    assert header.startswith("TIME") and len(history) == 4
    assert all(" lab " in line and " delta " in line for line in history)
    states = ["succeeded", "failed", "succeeded", "succeeded"]  # newest first
    assert [line.split()[4] for line in history] == states
    assert ["(dry run)" in line for line in history] == [False, False, True, False]
