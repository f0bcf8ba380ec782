"""``pmc sync`` without servers: bad input, the history table and JSON, schedules kept in the
inventory, the daemon following them (re-reading the file) and stopping on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pmc.cli import main
from pmc.inventory import Cluster, Inventory, Role, Server
from pmc.inventory_file import load_inventory, save_inventory
from pmc.store import Store


@pytest.fixture()
def inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PMC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PMC_CONFIG_DIR", str(tmp_path / "config"))
    path = tmp_path / "inventory.toml"
    cluster = Cluster(
        "tv",
        servers=(
            Server("main", "127.0.0.2", "127.0.1.2", Role.MAIN),
            Server("backup", "127.0.0.3", "127.0.1.3", Role.BACKUP),
        ),
    )
    save_inventory(Inventory((cluster,)), path)
    return path


def test_unknown_cluster_is_bad_input(inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--inventory", str(inventory), "sync", "run", "--cluster", "nope"]) == 2
    assert "no cluster 'nope'" in capsys.readouterr().err


def test_history_starts_empty(inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", "history"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["sync", "history", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def _record(
    store: Store, job_id: str, title: str, state: str, *, summary: str, retries: int
) -> None:
    store.job_started(job_id, "sync", title, "tv")
    rows = [(i, 0.0, "log", "warning", None, f"try {i + 1} of 4 failed (the connection to"
             " backup dropped); trying again in 2 s") for i in range(retries)]  # fmt: skip
    store.job_log(job_id, [*rows, (9, 0.0, "log", "info", None, "try 9 of 4 is not a retry")])
    store.job_finished(job_id, state, summary)


def test_history_table_and_json(inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store.open()
    _record(
        store, "aaa111", "Synchronize tv (delta)", "succeeded", summary="copied 3 rows", retries=2
    )
    _record(
        store,
        "bbb222",
        "Synchronize tv (playout, dry run)",
        "cancelled",
        summary="cancelled",
        retries=0,
    )
    store.close()
    assert main(["sync", "history"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["TIME", "CLUSTER", "ENGINE", "RESULT", "DURATION", "SUMMARY"]
    assert len(rows) == 2
    cells = {row.split()[3]: row for row in rows}  # newest first; both in the same second
    assert "  tv       delta    succeeded after 2 retries  " in cells["delta"]
    assert cells["delta"].endswith("copied 3 rows")
    assert "playout  cancelled (dry run)" in cells["playout"]
    assert main(["sync", "history", "--json", "--cluster", "tv"]) == 0
    data = {d["id"]: d for d in json.loads(capsys.readouterr().out)}
    assert data["aaa111"]["engine"] == "delta" and data["aaa111"]["retries"] == 2
    assert data["aaa111"]["state"] == "succeeded" and data["aaa111"]["summary"] == "copied 3 rows"
    assert data["bbb222"]["dry_run"] is True and data["bbb222"]["engine"] == "playout"
    assert isinstance(data["bbb222"]["duration_seconds"], float)
    assert main(["sync", "history", "--cluster", "other"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["sync", "history", "--job", "aaa111", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    assert main(["sync", "history", "--job", "nope"]) == 2


def test_daemon_needs_a_schedule(inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--inventory", str(inventory), "sync", "daemon"]) == 2
    err = capsys.readouterr().err
    assert "no sync schedule" in err and "pmc sync schedule --cluster NAME" in err


def test_schedule_is_kept_in_the_inventory(
    inventory: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = ["--inventory", str(inventory), "sync", "schedule"]
    assert main(inv) == 0
    assert capsys.readouterr().out == "tv: off\n"
    assert main([*inv, "--cluster", "tv", "--every", "15", "--on-drift"]) == 0
    assert "tv: every 15 min, on drift (checked every 5 min), delta engine" in (
        capsys.readouterr().out
    )
    schedule = load_inventory(inventory).inventory.cluster("tv").sync
    assert schedule is not None and (schedule.every_minutes, schedule.on_drift) == (15, True)
    text = inventory.read_text()
    assert main([*inv, "--cluster", "tv", "--every", "0"]) == 2  # refused, nothing written
    assert "every_minutes = 0 is outside 1–10080 minutes" in capsys.readouterr().err
    assert inventory.read_text() == text
    assert main([*inv, "--cluster", "tv", "--no-every", "--engine", "playout"]) == 0
    assert main([*inv, "--cluster", "tv"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("tv: on drift (checked every 5 min), playout engine\n")
    assert main([*inv, "--cluster", "tv", "--off", "--every", "3"]) == 2
    assert main([*inv, "--cluster", "tv", "--off"]) == 0
    assert load_inventory(inventory).inventory.cluster("tv").sync is None
    assert "[clusters.sync]" not in inventory.read_text()
    assert main([*inv, "--cluster", "nope", "--every", "5"]) == 2


def test_daemon_follows_the_inventory_and_rereads_it(inventory: Path, tmp_path: Path) -> None:
    assert main(["--inventory", str(inventory), "sync", "schedule", "--cluster", "tv",
                 "--every", "60"]) == 0  # fmt: skip
    env = {**os.environ, "PMC_DATA_DIR": str(tmp_path / "data"),
           "PMC_CONFIG_DIR": str(tmp_path / "config")}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "pmc", "--inventory", str(inventory), "sync", "daemon",
         "--reload-seconds", "0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        assert "watching tv (tv: every 60 min, delta engine)" in proc.stdout.readline()
        assert main(["--inventory", str(inventory), "sync", "schedule", "--cluster", "tv",
                     "--on-drift", "--check-every", "30"]) == 0  # fmt: skip
        line = proc.stdout.readline()
        assert "inventory changed; now tv: every 60 min, on drift (checked every 30 min)" in line
        good = inventory.read_text()
        inventory.write_text(good.replace("every_minutes = 60", "every_minutes = -1"))
        line = proc.stdout.readline()
        assert "cannot be used" in line and "every_minutes = -1 is outside" in line
        assert "keeping the schedules in force" in line
        inventory.write_text(good.replace("[clusters.sync]\n", "[clusters.sync]\n# off\n"))
        inventory.write_text(good.replace("on_drift = true", "on_drift = false"))
        assert "now tv: every 60 min, delta engine" in proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "stopping" in out


def test_daemon_stops_cleanly_on_sigterm(inventory: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PMC_DATA_DIR": str(tmp_path / "data"),
           "PMC_CONFIG_DIR": str(tmp_path / "config")}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "pmc", "--inventory", str(inventory), "sync", "daemon",
         "--every", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert "watching tv" in first
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopping" in out
