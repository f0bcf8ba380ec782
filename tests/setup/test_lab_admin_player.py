"""Admin/Player cluster against a 3-server lab: verify probes every link of the manual's
diagram from the admin (main) to each player (backup, player1), and names exactly the one
that a blocked port breaks, with its fix.

UDP 162 is the SNMP trap port: the lab's trap receiver (like most) never answers, so silence
there is reported UNVERIFIED (not refused, not proved) and does not fail the report; a
rejection (ICMP port unreachable) is a FAIL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pmc.inventory import Architecture
from pmc.lab import LabCluster
from pmc.plan import Plan, render_text
from pmc.setup import make_plan
from pmc.setup.observe import observe_cluster
from pmc.setup.verify import VerifyReport, verify
from tests.fixtures.lab import LabFactory
from tests.setup.labkit import connections, in_lab, lab_cluster, lab_pool

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PORTS = [(80, "tcp"), (22, "tcp"), (2001, "tcp"), (5555, "tcp"), (161, "udp"), (162, "udp")]


@pytest.fixture(scope="module")
def three(lab_factory: LabFactory) -> Iterator[LabCluster]:
    lab = lab_factory(servers=3, state="fresh")
    yield lab
    lab.down()


def run_verify(lab: LabCluster, folder: Path) -> VerifyReport:
    cluster = lab_cluster(lab, Architecture.ADMIN_PLAYER)
    pool = lab_pool(lab, folder)

    async def go() -> VerifyReport:
        try:
            return await verify(cluster, connections(pool, cluster))
        finally:
            await pool.close()

    return in_lab(lab, go)


def run_plan(lab: LabCluster, folder: Path) -> Plan:
    cluster = lab_cluster(lab, Architecture.ADMIN_PLAYER)
    pool = lab_pool(lab, folder)

    async def go() -> Plan:
        try:
            return make_plan(cluster, await observe_cluster(cluster, connections(pool, cluster)))
        finally:
            await pool.close()

    return in_lab(lab, go)


def by_link(report: VerifyReport) -> dict[tuple[str, int, str], str]:
    out = {}
    for check in report.checks:
        target = check.name.split(" to ")[1].split(" (")[0]
        port, proto = check.name.rsplit("(", 1)[1].rstrip(")").split("/")
        out[(target, int(port), proto)] = check.mark
    return out


def test_every_link_up_then_a_blocked_port_is_named(three: LabCluster, tmp_path: Path) -> None:
    plan = run_plan(three, tmp_path)  # connectivity, not file edits: nothing to apply
    assert plan.is_empty and len(plan.unchanged) == 3, render_text(plan)
    report = run_verify(three, tmp_path)
    assert report.ok, str(report)
    marks = by_link(report)
    players = ("backup", "player1")
    assert set(marks) == {(p, port, proto) for p in players for port, proto in PORTS}
    for player in players:
        for port, proto in PORTS[:-1]:
            assert marks[(player, port, proto)] == "PASS", str(report)
        assert marks[(player, 162, "udp")] == "UNVERIFIED"
    trap = next(c for c in report.checks if c.name.endswith("(162/udp)"))
    assert "traps are fire-and-forget" in trap.detail and "not rejected" in trap.detail
    assert "(2 could not be proved either way" in str(report).splitlines()[0]

    # a TCP port blocked on one player: exactly that link fails, with its fix
    three.block("player1", 5555, "tcp", mode="reject")
    try:
        report = run_verify(three, tmp_path)
    finally:
        three.unblock("player1", 5555, "tcp")
    assert [(c.server, c.name) for c in report.failed] == [
        ("main", "playout-admin to player1 (5555/tcp)")
    ]
    failed = str(report.failed[0])
    assert failed.startswith("FAIL  [main] playout-admin to player1 (5555/tcp): 127.168.1.111")
    assert "fix: open 5555/tcp on player1 (firewall-cmd --permanent --add-port=5555/tcp" in failed

    # the trap port rejected (ICMP port unreachable) is detectable: FAIL, not UNVERIFIED
    three.block("backup", 162, "udp", mode="reject")
    try:
        report = run_verify(three, tmp_path)
    finally:
        three.unblock("backup", 162, "udp")
    assert [c.name for c in report.failed] == ["SNMP traps to backup (162/udp)"]
    assert "rejected" in report.failed[0].detail
    assert by_link(report)[("player1", 162, "udp")] == "UNVERIFIED"

    # the agent port silently dropped: SNMP 161 must answer, so silence is a FAIL
    three.block("player1", 161, "udp", mode="drop")
    try:
        report = run_verify(three, tmp_path)
    finally:
        three.unblock("player1", 161, "udp")
    assert [c.name for c in report.failed] == ["SNMP to player1 (161/udp)"]
    assert "no answer within 3 s" in report.failed[0].detail


def test_on_the_rocky_flavour_the_real_firewalld_lets_every_link_through(
    fresh_rocky_lab: LabCluster, tmp_path: Path
) -> None:
    """The same architecture on the rocky flavour (the session's 2-server lab: main is the
    admin, backup the player): nothing to apply, every link of the diagram through the real
    firewalld's zone."""
    plan = run_plan(fresh_rocky_lab, tmp_path)
    assert plan.is_empty and len(plan.unchanged) == 2, render_text(plan)
    report = run_verify(fresh_rocky_lab, tmp_path)
    assert report.ok, str(report)
    marks = by_link(report)
    assert set(marks) == {("backup", port, proto) for port, proto in PORTS}
    assert marks[("backup", 162, "udp")] == "UNVERIFIED"
    assert all(mark == "PASS" for key, mark in marks.items() if key[1] != 162), marks
