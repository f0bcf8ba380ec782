"""``pmc sync`` without servers: bad input, an empty history, the daemon stopping on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pmc.cli import main
from pmc.inventory import Cluster, Inventory, Role, Server
from pmc.inventory_file import save_inventory


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


def test_daemon_needs_a_schedule(inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--inventory", str(inventory), "sync", "daemon"]) == 2
    assert "--every" in capsys.readouterr().err


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
