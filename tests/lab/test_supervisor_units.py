"""The lab supervisor's unit bookkeeping, without a lab: a main process that died is noticed
before a start is judged (as systemd handles SIGCHLD before a start request)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

if not sys.platform.startswith("linux"):
    pytest.skip("the lab is Linux-only", allow_module_level=True)

from pmc.lab import supervisor as supervisor_module
from pmc.lab import unit_ready
from pmc.lab.supervisor import Supervisor, Unit
from tests.wait import wait_until


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_start_right_after_a_kill_starts_the_service_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervisor_module, "JOURNAL_DIR", str(tmp_path))
    monkeypatch.setattr(unit_ready, "listening", lambda tcp, udp: True)
    supervisor = Supervisor.__new__(Supervisor)  # no namespaces: only the bookkeeping
    supervisor.server, supervisor.lab = "main", "test"
    unit = Unit("sshd", ["sleep", "60"])
    supervisor.units = {"sshd": unit}
    killed = subprocess.Popen(["sleep", "60"])
    unit.proc, unit.done = killed, threading.Event()
    unit.state.active, unit.state.sub = "active", "running"
    killed.kill()
    wait_until(lambda: _state(killed.pid) == "Z", timeout=10, what="the killed one a zombie")
    looked = threading.Event()
    original_wait = unit.done.wait

    def wait(timeout: float | None = None) -> bool:
        looked.set()
        return original_wait(timeout)

    unit.done.wait = wait  # type: ignore[method-assign]

    def late_watcher() -> None:  # the supervisor's watcher, late as on a loaded machine
        looked.wait(5)
        killed.wait()
        unit.done.set()

    watcher = threading.Thread(target=late_watcher)
    watcher.start()
    try:
        assert supervisor.start("sshd") is True
        watcher.join(10)
        assert unit.proc is not None and unit.proc is not killed, "answered 'active' for a corpse"
        assert unit.state.active == "active"
        assert any("status=-9" in message for _, message in unit.state.events)
    finally:
        if unit.proc is not None:
            unit.proc.kill()
            unit.proc.wait()
        killed.wait()


def test_postgresql_is_active_only_once_it_accepts_connections(tmp_path: Path) -> None:
    """Listening on 5432 is not enough (it answers "the database system is starting up"
    meanwhile): the status line of postmaster.pid must say ready, as for the real unit."""
    pid = tmp_path / "postmaster.pid"
    head = ["4242", str(tmp_path), "1700000000", "5432", "/run/postgresql", "*", "  1  2"]
    assert not unit_ready.postgres_accepts(str(tmp_path))  # not started
    pid.write_text("\n".join([*head, "starting"]) + "\n")
    assert not unit_ready.postgres_accepts(str(tmp_path))
    pid.write_text("\n".join(head[:4]) + "\n")  # being written
    assert not unit_ready.postgres_accepts(str(tmp_path))
    pid.write_text("\n".join([*head, "ready   "]) + "\n")
    assert unit_ready.postgres_accepts(str(tmp_path))
