"""A cluster's history (pure): this desktop's jobs and the servers' audit logs merged by job,
newest first, with who ran each from which desktop, and the table ``pmc history`` prints."""

from __future__ import annotations

from pmc.audit_log import AuditEntry
from pmc.audit_trail import FileChange
from pmc.history import ClusterHistory, change_lines, merge, table
from pmc.store import JobRecord


def logged(server: str, job: str, when: float, **more: object) -> AuditEntry:
    fields: dict[str, object] = {
        "time": when, "cluster": "lab", "server": server, "user": "alice",
        "desktop": "desk-a", "version": "1", "job_id": job, "job_kind": "switchover",
        "job_title": f"job {job}", "action": "a", "result": "succeeded",
    }  # fmt: skip
    fields.update(more)
    return AuditEntry(**fields)  # type: ignore[arg-type]


def record(job: str, kind: str, when: float, cluster: str = "lab") -> JobRecord:
    return JobRecord(job, kind, f"mine {job}", cluster, "failed", when, when + 1, "refused", "bob")


def test_servers_logs_and_this_desktops_jobs_merge_by_job_newest_first() -> None:
    logs = {
        "main": [logged("main", "j1", 100, files=(FileChange("/f", None, "cd" * 32),))],
        "backup": [
            logged("backup", "j1", 101, facts={"active": {"before": "main", "after": "backup"}}),
            logged("backup", "j2", 200, result="failed", message="it broke"),
            logged("backup", "x9", 300, cluster="other"),
        ],
    }
    records = [
        record("j3", "sync", 250),  # refused before it reached a server: listed
        record("j4", "setup-plan", 260),  # read only: not listed
        record("j5", "sync", 270, cluster="other"),
        record("j2", "sync", 199),  # also in a server's log: one entry, this desktop's words
    ]
    merged = merge(records, logs, cluster="lab", user="bob", desktop="desk-b")
    assert [(e.job_id, e.by, e.result, e.servers, e.here) for e in merged] == [
        ("j3", "bob@desk-b", "failed", (), True),
        ("j2", "alice@desk-a", "failed", ("backup",), True),
        ("j1", "alice@desk-a", "succeeded", ("backup", "main"), False),
    ]
    assert merged[1].title == "mine j2" and merged[1].message == "refused"
    assert merged[2].title == "job j1" and merged[2].changes == (
        "backup: active server main → backup",
        f"main: /f absent → {'cd' * 6}",
    )
    lines = table(ClusterHistory("lab", tuple(merged)), width=200)
    assert lines[0].split() == ["TIME", "BY", "JOB", "RESULT", "SERVERS", "CHANGES"]
    assert "    backup: active server main → backup" in lines
    assert "    refused" in lines  # a failed job says why
    assert len(table(ClusterHistory("lab", tuple(merged)), details=False)) == 4


def test_an_import_says_what_it_imported_and_odd_values_do_not_stop_the_history() -> None:
    imported = {"bundle": "main.pmcbundle", "parts": ["database", "config"],
                "rows": {"networks": 1, "dvb_services": 5}}  # fmt: skip
    assert change_lines(logged("backup", "j1", 1, facts={"imported": imported})) == [
        "backup: imported main.pmcbundle (database, config): 6 rows in 2 tables"
    ]
    odd = {"bundle": "b", "parts": "config", "rows": {"x": "many", "y": 1}}
    assert change_lines(logged("backup", "j1", 1, facts={"imported": odd})) == [
        "backup: imported b (): 1 row in 1 table"
    ]


def test_a_servers_entry_with_tables_or_folders_that_are_no_list_shows_its_other_changes() -> None:
    """A log line on a server (damaged, or written by something else) whose ``tables`` or
    ``data`` is a number: before, TypeError (int is not iterable) stopped the history."""
    line = (
        '{"v": 1, "epoch": 5, "cluster": "lab", "server": "main", "user": "u", "desktop": "d",'
        ' "job": {"id": "j"}, "result": "succeeded", "tables": 5, "data": true,'
        ' "active": {"before": "main", "after": "backup"}}'
    )
    entry = AuditEntry.parse(line)
    assert entry is not None
    assert change_lines(entry) == ["main: active server main → backup"]
