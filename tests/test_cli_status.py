"""``pmc status --json`` against the rehearsal lab (real OpenSSH, the real keyring): every
cluster with its health, active server, last sync and its problems; a fresh lab's eth2 link is
down (PostgreSQL on localhost only), a port closed on backup is named with the server whose
firewall closed it; the command exits 1 while a cluster has a problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lab_cli import Desktop, Pmc

pytestmark = pytest.mark.lab


def _status(pmc: Pmc, desktop: Desktop, *args: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    proc = pmc.start(desktop, "status", *args)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, json.loads(out) if out.strip().startswith("{") else {}, out + err


def test_pmc_status_json_and_a_link_down(pmc: Pmc, tmp_path: Path) -> None:
    desktop = Desktop(tmp_path / "desk")
    code, data, said = _status(pmc, desktop, "--json")
    assert [c["cluster"] for c in data["clusters"]] == ["lab"], said
    lab = data["clusters"][0]
    assert lab["active_server"] == "main"
    assert lab["last_sync"] is None and lab["last_sync_result"] is None  # a new desktop
    assert lab["locked_by"] is None
    assert lab["checked"] is not None
    # a fresh lab: PostgreSQL listens on localhost only until redundancy is set up
    assert lab["health"] == "link down", said
    assert any(p.startswith("main · eth2 link: backup cannot reach main") for p in lab["problems"])
    assert not any("2001" in p for p in lab["problems"]), said
    assert code == 1

    pmc.lab.block("backup", 2001)
    try:
        code, data, said = _status(pmc, desktop, "--json", "--cluster", "LA")
    finally:
        pmc.lab.unblock("backup", 2001)
    lab = data["clusters"][0]
    assert lab["health"] == "link down", said
    assert any(
        p.startswith("backup · TCP 22·2001·5555: From main to 127.168.1.108: TCP 2001")
        and "check the firewall on backup" in p
        for p in lab["problems"]
    ), said
    assert code == 1

    code, _data, said = _status(pmc, desktop)  # the table: a header, one line per cluster
    lines = said.splitlines()
    assert lines[0].split() == ["CLUSTER", "HEALTH", "ACTIVE", "LAST", "SYNC", "RESULT", "SUMMARY"]
    assert lines[1].startswith("lab ")


def test_pmc_status_refuses_a_filter_that_matches_nothing(pmc: Pmc, tmp_path: Path) -> None:
    code, _data, said = _status(pmc, Desktop(tmp_path / "desk"), "--cluster", "nowhere")
    assert code == 2
    assert "no cluster to show: none of the inventory's names holds 'nowhere'" in said
