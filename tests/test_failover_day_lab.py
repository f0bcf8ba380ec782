"""The day main fails, through the command line, on the rehearsal lab: combined redundancy set
up and synchronized → main fails (its Playout services stopped, SSH unreachable) → switchover
to backup → a service added in backup's Web Console → main repaired → a sync from main is
refused, naming the change, word for word → sync back from backup → switchover back to main →
both identical, the service on main, and every step in the servers' audit logs.

Everything runs on one desktop (its own PMC folders, user ``alice``, host name ``desk-a``);
then a second PMC (other folders and history, user ``bob`` on ``desk-b``) reads
``pmc history --cluster lab`` and sees alice's jobs with her user and desktop: the history
travels with the servers."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from pmc.inventory_file import load_inventory
from tests.failover_day import add_service, fail, hhmm, last_sync, repair, service_names
from tests.lab_cli import Desktop, Pmc

pytestmark = [pytest.mark.lab, pytest.mark.keyring, pytest.mark.slow, pytest.mark.timeout(1200)]


def test_the_day_main_fails_through_the_cli(pmc: Pmc, tmp_path: Path) -> None:
    lab = pmc.lab
    started = time.monotonic()
    alice = Desktop(tmp_path / "alice", name="desk-a", user="alice")

    def ok(*args: str) -> str:
        code, text = pmc.run(alice, *args)
        assert code == 0, text
        return text

    ok("setup", "apply", "--cluster", "lab", "--yes")
    ok("sync", "run", "--cluster", "lab", "--yes")
    synced = last_sync(lab, "backup")
    assert synced["result"] == "succeeded" and synced["user"] == "alice"
    assert synced["desktop"] == "desk-a"

    # main fails: its Playout services stop and it cannot be reached
    fail(lab, "main")
    text = ok("cluster", "switchover", "--cluster", "lab", "--to", "backup", "--yes")
    assert "backup becomes the active server (now: main)" in text
    assert "! main cannot be reached" in text
    assert "backup is now the active server of lab (was: main); not reached: main" in text
    assert load_inventory(pmc.inventory).inventory.cluster("lab").active == "backup"

    # on air from backup: the operators add a service in backup's Web Console
    add_service(lab, "backup", 6, "Icareus 6")

    # main is repaired; a sync from main would discard the new service: refused, word for word
    repair(lab, "main")
    code, text = pmc.run(alice, "sync", "run", "--cluster", "lab", "--from", "main", "--yes")
    since = hhmm(float(synced["epoch"]))
    assert code == 1, text
    assert (
        f"pmc: backup has 2 rows in 2 tables changed since {since}; syncing from main would"
        " discard them. Nothing was changed. Synchronize from backup first (pmc sync run"
        " --cluster lab --from backup), or discard them: add --discard-target-changes\n"
    ) in text, text
    assert "Icareus 6" in service_names(lab, "backup")

    # the default direction is the active server: back from backup, then switch back
    text = ok("sync", "run", "--cluster", "lab", "--yes")
    assert "(from backup)" in text, text
    text = ok("cluster", "switchover", "--cluster", "lab", "--to", "main", "--yes")
    assert "main is now the active server of lab (was: backup)" in text
    assert load_inventory(pmc.inventory).inventory.cluster("lab").active is None

    # both identical, the change present on main
    code, text = pmc.run(alice, "sync", "diff", "--cluster", "lab")
    assert code == 0 and ": in sync" in text, text
    assert "Icareus 6" in service_names(lab, "main")
    day = time.monotonic() - started

    # another desktop (other folders, no history of its own) sees alice's day on the servers
    bob = Desktop(tmp_path / "bob", name="desk-b", user="bob")
    shutil.copy(pmc.inventory, tmp_path / "bob.toml")
    code, text = Pmc(lab, tmp_path / "bob.toml").run(bob, "history", "--cluster", "lab")
    assert code == 0, text
    rows = [line for line in text.splitlines() if line[:2] == "20"]
    steps = [
        ("Switch lab over to main", "succeeded", "backup, main"),
        ("Synchronize lab: backup → main (delta)", "succeeded", "backup, main"),
        ("Synchronize lab: main → backup (delta)", "failed", "backup, main"),
        ("Switch lab over to backup", "succeeded", "backup"),
        ("Synchronize lab: main → backup (delta)", "succeeded", "backup, main"),
        ("Set up Web redundancy and database replication on lab", "succeeded", "backup, main"),
    ]
    assert len(rows) == len(steps), text
    for row, (title, result, servers) in zip(rows, steps, strict=True):
        assert "alice@desk-a" in row and title in row and result in row and servers in row, row
    assert "backup: active server main → backup" in text
    assert "main: table dvb_services: " in text  # the sync back changed main's services
    assert "/opt/playout/api/config/spoolers.json" in text  # the setup's files with hashes
    print(f"the day through the CLI took {day:.1f} s (history: {time.monotonic() - started:.1f} s)")
