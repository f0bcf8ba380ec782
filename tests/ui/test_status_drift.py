"""The status table's drift column (pmc.drift_cache.DriftCache and drift_check): one drift report
per refresh shared by the servers, fetched only at its own slower interval, errors shown in
the cell, a report fetched elsewhere not overwritten by an older one. Pure: no Qt, no servers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from pmc.drift_cache import DriftCache, drift_check
from pmc.errors import PmcError
from pmc.inventory import Architecture, Cluster, Role, Server
from pmc.probes import probe_cluster
from pmc.status import CommandOutcome, Health

CLUSTER = Cluster(
    "studio",
    Architecture.COMBINED,
    (
        Server("main", "127.168.1.105", "127.17.59.128", Role.MAIN),
        Server("backup", "127.168.1.108", "127.17.59.129", Role.BACKUP),
        Server("player1", "127.168.1.111", None, Role.PLAYER),
    ),
)


@dataclass
class Report:
    summary: str = "in sync"
    in_sync: bool = True
    primary: str = "main"
    secondary: str = "backup"
    taken_at: float = 1.0
    problems: tuple[str, ...] = ()
    body: list[str] = field(default_factory=list)

    def lines(self, *, limit: int = 20) -> list[str]:
        return [f"Drift of cluster studio: {self.summary}", *self.body]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_drift_check_cells() -> None:
    report = Report("1 row, 2 files differ", False, body=["  folder /opt/playout/data/av: …"])
    backup = drift_check(report, "backup")
    assert backup.health is Health.DOWN and backup.summary == "1 row, 2 files differ"
    assert "folder /opt/playout/data/av" in (backup.error or "")
    assert drift_check(Report(), "main").summary == "in sync"
    player = drift_check(report, "player1")
    assert player.health is Health.UNKNOWN and player.summary == "not compared"
    long = Report("400 rows differ", False, body=[f"    differing: ({i})" for i in range(100)])
    assert "… 71 more lines" in (drift_check(long, "main").error or "")


def test_one_fetch_per_refresh_at_the_slower_interval_and_errors_in_the_cell() -> None:
    clock = Clock()
    calls: list[str] = []
    answers: list[object] = [Report("1 file differs", False), PmcError("backup unreachable")]

    async def fetch(cluster: str) -> Report:
        calls.append(cluster)
        await asyncio.sleep(0)  # a yield, not a wait: the other probes run meanwhile
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, Report)
        return answer

    cache = DriftCache(fetch, interval=300, clock=clock)

    async def cells() -> dict[str, str]:
        probe = cache.probe()
        got = await asyncio.gather(*(probe(CLUSTER, s) for s in CLUSTER.servers))
        return {s.name: c.summary for s, c in zip(CLUSTER.servers, got, strict=True)}

    first = asyncio.run(cells())
    assert calls == ["studio"]  # one report for all three servers
    assert first == {
        "main": "1 file differs",
        "backup": "1 file differs",
        "player1": "not compared",
    }
    clock.now += 60
    assert asyncio.run(cells()) == first and calls == ["studio"]  # not due: the last report
    clock.now += 300
    failed = asyncio.run(cells())
    assert calls == ["studio", "studio"]
    assert failed["backup"] == "not compared"
    assert cache.cell("studio", "backup").error == "backup unreachable"  # type: ignore[union-attr]


def test_a_newer_report_is_not_overwritten_by_an_older_fetch() -> None:
    clock = Clock()
    started, gate = asyncio.Event(), asyncio.Event()

    async def slow(cluster: str) -> Report:
        started.set()
        await gate.wait()
        return Report("5 rows differ", False, taken_at=1.0)

    cache = DriftCache(slow, interval=300, clock=clock)

    async def go() -> None:
        task = asyncio.ensure_future(cache.probe()(CLUSTER, CLUSTER.servers[1]))
        await started.wait()
        clock.now += 1
        cache.remember("studio", Report("in sync", True, taken_at=2.0))  # the sync panel's
        gate.set()
        await task

    asyncio.run(go())
    assert cache.cell("studio", "backup").summary == "in sync"  # type: ignore[union-attr]


class Runner:
    async def run(self, server: Server, command: str, *, timeout: float) -> CommandOutcome:
        return CommandOutcome(0, "active\n")


def test_probe_cluster_takes_the_drift_probe() -> None:
    async def fetch(cluster: str) -> Report:
        return Report("2 rows differ", False)

    cache = DriftCache(fetch)
    status = asyncio.run(probe_cluster(CLUSTER, Runner(), drift=cache.probe()))
    assert status.servers["main"].drift.summary == "2 rows differ"
    assert status.servers["backup"].drift.health is Health.DOWN
    assert status.servers["player1"].drift.summary == "not compared"
