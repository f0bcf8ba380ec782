"""pmc.health: what the probes' answers mean for the operator. Copy config stopped after a
failure is failed (with the failure), idle with nothing pending is ok and says so; every link
of the diagram is judged from the table cells it stands for; an unreachable server's cause is
said once; the status bar's line; changes between two assessments and their pace. The copy
config log is read as the lab's copy_config.sh writes it. Pure: no Qt, no servers."""

from __future__ import annotations

import dataclasses

import pytest

from pmc.alerts import AlertPacer, changes, notification
from pmc.copy_config_log import RunOutcome, read_runs
from pmc.drift_cache import drift_check
from pmc.health import assess
from pmc.health_model import Aspect, ClusterHealth, State, link_aspects, worst
from pmc.inventory import Architecture, Cluster, Role, Server
from pmc.status import (
    Check,
    ClusterStatus,
    Health,
    ReplicationFacts,
    ServerStatus,
    empty_status,
    links_of,
)
from pmc.sync.delta import DatabaseDelta, FolderDelta, SyncDelta, TableDelta
from pmc.sync.drift import ConfigDrift, DriftReport

CLUSTER = Cluster(
    "lab",
    Architecture.COMBINED,
    (
        Server("main", "127.168.1.105", "127.17.59.128", Role.MAIN),
        Server("backup", "127.168.1.108", "127.17.59.129", Role.BACKUP),
    ),
)
NOW = 1_700_000_000.0
UP = Check(Health.UP, "ok", NOW)
SCRIPT = "/opt/playout/bin/copy_config.sh"


def _log(*messages: str, day: str = "2025-02-05 12:23:44") -> list[str]:
    return [f"{day} {SCRIPT}: {m}" for m in messages]


FAILED_RUN = _log(
    "Wed Feb  5 12:23:44 UTC 2025: Copy config starting on 127.168.1.105",
    "Checking failover on slave... returned 127",
    "Failure, setting replication status to stopped.",
)
GOOD_RUN = _log(
    "Wed Feb  5 11:00:00 UTC 2025: Copy config starting on 127.168.1.105",
    "Export DSMCC config on secondary... returned 0",
    "Restart playout services on secondary... returned 0",
    "Replication finished successfully at Wed Feb  5 11:02:10 UTC 2025.",
    day="2025-02-05 11:02:10",
)


def facts(lines: list[str], status: str = "stopped", stop: str = "2025-02-05 12:23:44") -> object:
    return ReplicationFacts(status, stop, "127.17.59.129", read_runs(lines))


def status_of(
    main: dict[str, object] | None = None,
    backup: dict[str, object] | None = None,
    links: dict[str, Check] | None = None,
) -> ClusterStatus:
    base = {"reachable": UP, "api": UP, "postgres": UP, "replication": UP, "last_sync": UP,
            "drift": Check(Health.UP, "in sync", NOW)}  # fmt: skip
    usual = {"main": facts(GOOD_RUN), "backup": facts([], stop="")}  # copy config ran on main
    servers = {
        name: ServerStatus(
            name,
            **{**base, "replication_facts": usual[name], **(extra or {})},  # type: ignore[arg-type]
        )
        for name, extra in (("main", main), ("backup", backup))
    }
    all_links = {link.key: UP for link in links_of(CLUSTER)}
    all_links.update(links or {})
    return ClusterStatus("lab", servers, all_links, NOW)


def test_the_copy_config_log_tells_failure_success_and_the_last_success() -> None:
    runs = read_runs(GOOD_RUN + FAILED_RUN)
    assert runs.outcome is RunOutcome.FAILED
    assert runs.failure is not None and runs.failure.returned == 127
    assert runs.ended == "2025-02-05 12:23:44" and runs.last_success == "2025-02-05 11:02:10"
    assert read_runs(FAILED_RUN + GOOD_RUN).outcome is RunOutcome.SUCCEEDED
    assert read_runs(GOOD_RUN[:2]).outcome is RunOutcome.UNFINISHED
    assert read_runs([]).outcome is RunOutcome.NONE


def test_replication_stopped_after_a_failure_is_failed_with_its_cause() -> None:
    health = assess(CLUSTER, status_of(main={"replication_facts": facts(GOOD_RUN + FAILED_RUN)}))
    replication = health.servers["main"].findings[Aspect.REPLICATION]
    assert replication.state is State.FAILED
    assert replication.text == "stopped after a failure"
    assert "failed at 2025-02-05 12:23:44" in replication.cause
    assert "check_failover.sh" in replication.cause and "slave" not in replication.cause
    # the last synchronization is the last *successful* one, not the failure's stop time
    last = health.servers["main"].findings[Aspect.LAST_SYNC]
    assert last.state is State.OK and last.text == "2025-02-05 11:02"
    assert health.servers["backup"].findings[Aspect.LAST_SYNC] == last  # copied from main
    assert health.servers["main"].overall is State.FAILED and health.overall is State.FAILED
    assert health.summary == "lab: Replication on main: stopped after a failure"


def test_idle_with_nothing_pending_is_ok_and_says_so() -> None:
    health = assess(CLUSTER, status_of(main={"replication_facts": facts(GOOD_RUN)}))
    replication = health.servers["main"].findings[Aspect.REPLICATION]
    assert (replication.state, replication.text) == (State.OK, "idle, nothing pending")
    assert health.summary == "lab: all 2 servers OK"
    # drift between main and backup: a warning that says what is pending
    drifted = Check(Health.DOWN, "1 row differs", NOW, "Drift of cluster lab:\n  table x: 1")
    health = assess(
        CLUSTER,
        status_of(main={"replication_facts": facts(GOOD_RUN), "drift": drifted},
                  backup={"drift": drifted}),
    )  # fmt: skip
    main = health.servers["main"]
    assert main.findings[Aspect.REPLICATION].text == "idle, changes pending"
    assert main.findings[Aspect.DRIFT].state is State.WARNING
    assert health.overall is State.WARNING
    # a copy that started and never ended; one running now
    unfinished = assess(CLUSTER, status_of(main={"replication_facts": facts(GOOD_RUN[:2])}))
    assert unfinished.servers["main"].findings[Aspect.REPLICATION].state is State.WARNING
    running = assess(
        CLUSTER, status_of(main={"replication_facts": facts(GOOD_RUN[:2], status="running")})
    )
    assert running.servers["main"].findings[Aspect.REPLICATION].text == "running"
    # the backup, which never runs copy config itself: not applicable
    backup = assess(CLUSTER, status_of(backup={"replication_facts": facts([], stop="")}))
    assert backup.servers["backup"].findings[Aspect.REPLICATION].state is State.NOT_APPLICABLE


def test_every_link_is_judged_from_its_table_cells() -> None:
    closed = Check(
        Health.DOWN, "UDP 161 closed", NOW, "from main to 127.168.1.108: UDP 161 no answer"
    )
    pg = Check(Health.DOWN, "127.17.59.129:5432 not reachable from main", NOW, "TCP 5432 refused")
    health = assess(CLUSTER, status_of(backup={"postgres": pg}, links={"udp:main:backup": closed}))
    for link in links_of(CLUSTER):
        cells = [health.servers[s].findings[a] for s, a in link_aspects(CLUSTER, link)]
        assert health.links[link.key] == worst(cells), link.key
    udp = health.servers["backup"].findings[Aspect.UDP]
    assert (udp.state, udp.text) == (State.FAILED, "161 closed")
    assert "UDP 161 no answer" in udp.cause
    # eth2: the table says PostgreSQL over eth2 is closed, so the diagram's eth2 link is red
    assert health.servers["backup"].findings[Aspect.ETH2].text == "5432 closed"
    assert health.links["redundancy:main:backup"].state is State.FAILED
    # the main server is where the port links start: not applicable, not "unknown"
    assert health.servers["main"].findings[Aspect.HTTP].state is State.NOT_APPLICABLE


def test_an_unreachable_server_says_why_once() -> None:
    cluster = CLUSTER
    down = Check(Health.DOWN, "unreachable", NOW, "backup (127.168.1.108): no answer within 10 s")
    gone = Check(Health.UNKNOWN, "server unreachable", NOW, down.error)
    health = assess(
        cluster,
        status_of(backup={"reachable": down, "api": gone, "replication": gone, "last_sync": gone,
                          "drift": Check(Health.UNKNOWN, "not compared", NOW, "x")}),
    )  # fmt: skip
    backup = health.servers["backup"]
    ssh = backup.findings[Aspect.SSH]
    assert ssh.state is State.FAILED and "no answer within 10 s" in ssh.cause
    assert backup.findings[Aspect.API].state is State.UNKNOWN
    assert [aspect for aspect, _f in backup.problems()] == [Aspect.SSH]
    assert health.problem_lines()[0].startswith("backup · SSH (eth3): PMC cannot log in to backup")


def test_nothing_checked_yet_is_unknown_not_ok() -> None:
    health = assess(CLUSTER, empty_status(CLUSTER))
    assert health.summary == "lab: not checked yet"
    assert all(f.state in (State.UNKNOWN, State.NOT_APPLICABLE)
               for s in health.servers.values() for f in s.findings.values())  # fmt: skip


def test_changes_are_notified_at_a_pace_and_gathered() -> None:
    ok = assess(CLUSTER, status_of())
    bad_link = {"http:main:backup": Check(Health.DOWN, "TCP 80 closed", NOW, "TCP 80 refused")}
    bad = assess(CLUSTER, status_of(links=bad_link))
    found = changes(ok, bad)
    assert [(c.subject, c.before, c.after) for c in found] == [
        ("backup · HTTP 80", State.OK, State.FAILED)
    ]
    assert changes(None, bad) == [] and changes(bad, bad) == []
    not_checked = dataclasses.replace(ok, checked=0.0)
    assert changes(not_checked, bad) == []  # the first result is no news
    pacer = AlertPacer(60.0)
    pacer.add(found)
    assert pacer.due(100.0) == found
    pacer.add(changes(bad, ok))
    assert pacer.due(130.0) == []  # too soon after the last one: it waits
    pacer.add(changes(ok, bad))
    later = pacer.due(161.0)
    assert len(later) == 2
    title, message = notification(later)
    assert title == "lab has a failure (2 changes)"
    assert "backup · HTTP 80: OK (open)" in message and "backup · HTTP 80: failed" in message


@pytest.mark.parametrize("architecture", [Architecture.WEB_ONE_WAY, Architecture.WEB_SYMMETRIC])
def test_clusters_without_database_replication_do_not_judge_it(architecture: Architecture) -> None:
    cluster = dataclasses.replace(CLUSTER, architecture=architecture)
    health = assess(cluster, status_of(main={"replication_facts": facts(FAILED_RUN)}))
    assert health.servers["main"].findings[Aspect.REPLICATION].state is State.NOT_APPLICABLE
    assert isinstance(health, ClusterHealth) and health.overall is State.OK


def _report(rows: int = 0, files: int = 0, config: int = 0) -> DriftReport:
    table = TableDelta("networks", differing=tuple((str(i),) for i in range(rows)))
    folder = FolderDelta("/opt/playout/data/av", differing=tuple(f"f{i}" for i in range(files)))
    changes = tuple(ConfigDrift("backup", f"/etc/x{i}", "why") for i in range(config))
    delta = SyncDelta(DatabaseDelta((table,)), (folder,))
    return DriftReport("lab", "main", "backup", NOW, 1.0, delta, changes)


@pytest.mark.parametrize(
    ("rows", "files", "config", "said", "remedies"),
    [
        (1, 0, 0, "1 row differs", ["Synchronize all servers"]),
        (1, 2, 0, "1 row, 2 files differ", ["Synchronize all servers"]),
        (0, 0, 1, "1 config file needs setup", ["Setup redundancy"]),
        (1, 0, 8, "1 row differs; 8 config files need setup",
         ["Synchronize all servers", "Setup redundancy"]),
    ],
)  # fmt: skip
def test_drift_says_what_differs_and_what_brings_backup_in_line(
    rows: int, files: int, config: int, said: str, remedies: list[str]
) -> None:
    report = _report(rows, files, config)
    assert report.summary == said
    assert report.lines()[0] == f"Drift of cluster lab: backup compared with main: {said}"
    drift = drift_check(report, "backup")
    finding = assess(CLUSTER, status_of(backup={"drift": drift})).servers["backup"]
    found = finding.findings[Aspect.DRIFT]
    assert (found.state, found.text) == (State.WARNING, said)
    assert found.cause.startswith(said[:1].upper() + said[1:] + ". ")
    for remedy in ("Synchronize all servers", "Setup redundancy"):
        assert (remedy in found.cause) is (remedy in remedies), (remedy, found.cause)
