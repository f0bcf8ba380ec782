"""What the two lab scenarios of the day main fails share (through the CLI:
tests/test_failover_day_lab.py; through the GUI: tests/ui/test_failover_day_gui.py): main
failing and being repaired, a service added in backup's Web Console, the servers' audit logs
and the refusal's clock."""

from __future__ import annotations

import json
import time
from typing import Any

from pmc.lab import LabCluster
from tests.setup.labkit import api_request

AUDIT = "/var/log/pmc/audit.jsonl"
PLAYOUT = ("playout-api", "playout-scheduler", "eit-update", "playout-admin", "postgresql")


def audit_entries(lab: LabCluster, server: str) -> list[dict[str, Any]]:
    """The server's audit log, read from the lab's side (not through PMC)."""
    path = lab.servers[server].path(AUDIT)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def last_sync(lab: LabCluster, server: str) -> dict[str, Any]:
    return [e for e in audit_entries(lab, server) if e["job"]["kind"] == "sync"][-1]


def hhmm(epoch: float) -> str:
    """The refusal's clock: hours and minutes today, with the date on another day."""
    when, now = time.localtime(epoch), time.localtime()
    return time.strftime("%H:%M" if when[:3] == now[:3] else "%Y-%m-%d %H:%M", when)


def fail(lab: LabCluster, server: str) -> None:
    """The server fails: its Playout services stop and SSH to it is refused."""
    for unit in PLAYOUT:
        lab.servers[server].systemctl("stop", unit)
    lab.block(server, 22)


def repair(lab: LabCluster, server: str) -> None:
    lab.unblock(server, 22)
    for unit in reversed(PLAYOUT):
        done = lab.servers[server].systemctl("start", unit)
        assert done.returncode == 0, done.stderr


def add_service(lab: LabCluster, server: str, service_id: int, name: str) -> None:
    """An operator adds a DVB service in the server's Web Console (2 rows in 2 tables)."""
    address = lab.servers[server].management_address
    service = {"service_id": service_id, "name": name, "provider": "Icareus"}
    status, added = api_request(lab, address, "POST", "/api/services", service)
    assert status == 201, added


def service_names(lab: LabCluster, server: str) -> list[str]:
    address = lab.servers[server].management_address
    status, found = api_request(lab, address, "GET", "/api/services")
    assert status == 200, found
    return [str(s["name"]) for s in found]
