"""Never overwrite newer changes (pure parts): the refusal's words and plurals, the last sync a
server's audit log records with its peer, the recorded state, and folder digests."""

from __future__ import annotations

import json
import time

from pmc.audit_log import AuditEntry
from pmc.sync.delta import FileEntry
from pmc.sync.newer_changes import (
    NewerChanges,
    ServerState,
    TargetChanges,
    clock,
    folder_digest,
    last_sync,
)

NOON = time.mktime((2026, 3, 4, 14, 2, 30, 0, 0, -1))


def changes(rows: int, tables: int, files: int, since: float | None = NOON) -> TargetChanges:
    names = tuple(f"t{i}" for i in range(tables))
    return TargetChanges("main", "backup", since, rows, names, files, ("/d",) if files else ())


def test_the_refusal_names_what_would_be_discarded_with_plurals() -> None:
    now = NOON + 3600
    assert clock(NOON, now) == "14:02"
    assert clock(NOON, now + 2 * 86400) == "2026-03-04 14:02"
    texts = {
        (12, 3, 1): "backup has 12 rows in 3 tables and 1 file changed since",
        (1, 1, 0): "backup has 1 row in 1 table changed since",
        (0, 0, 2): "backup has 2 files changed since",
        (2, 1, 3): "backup has 2 rows in 1 table and 3 files changed since",
    }
    for (rows, tables, files), start in texts.items():
        text = str(changes(rows, tables, files))
        assert text.startswith(start), text
        assert text.endswith(f" {clock(NOON)}; syncing from main would discard them"), text
    assert not changes(0, 0, 0) and changes(0, 0, 1)
    refusal = NewerChanges(changes(1, 1, 0, since=None))
    assert str(refusal) == (
        "backup is the active server and has 1 row in 1 table that differs from main, with no"
        " record of an earlier sync between them; syncing from main would discard them."
        " Synchronize from backup first, or discard them explicitly; nothing was changed"
    )
    assert "has 2 rows in 1 table that differ from main," in str(changes(2, 1, 0, since=None))
    assert "has 1 file that differs from main," in str(changes(0, 0, 1, since=None))
    assert str(refusal.in_commands("lab")).endswith(
        "discard them. Nothing was changed. Synchronize from backup first (pmc sync run"
        " --cluster lab --from backup), or discard them: add --discard-target-changes"
    )


def entry(server: str, when: float, sync: object, result: str = "succeeded") -> AuditEntry:
    return AuditEntry(
        time=when, cluster="lab", server=server, user="u", desktop="d", version="1",
        job_id=str(when), job_kind="sync", job_title="t", action="a", result=result,
        facts={"sync": sync} if sync is not None else {},
    )  # fmt: skip


STATE = ServerState({"dvb_services": (4, "aa")}, {"/opt/playout/data/av": (2, "bb")})


def test_the_last_sync_is_the_newest_successful_one_with_that_peer() -> None:
    mine = {"from": "main", "to": "backup", "state": STATE.as_json()}
    other = {**mine, "state": ServerState({"x": (1, "c")}).as_json()}
    log = [
        entry("backup", 10, mine),
        entry("backup", 20, {**other, "from": "backup", "to": "main"}),  # the other way: counts
        entry("backup", 30, other, result="failed"),
        entry("backup", 40, {**other, "from": "player1"}),  # another peer
        entry("backup", 50, None),  # a switchover, no sync
        entry("backup", 60, {**other, "state": "damaged"}),
        entry("main", 70, other),  # another server's entry
    ]
    found = last_sync(log, "backup", "main")
    assert found is not None
    assert (found.time, found.source, found.target) == (20, "backup", "main")
    assert found.state == ServerState({"x": (1, "c")})
    assert last_sync(log[:1], "backup", "main") == type(found)(10, "main", "backup", STATE)
    assert last_sync(log[2:], "backup", "main") is None


def test_a_state_reads_back_and_a_damaged_one_is_none() -> None:
    assert ServerState.from_json(STATE.as_json()) == STATE
    for bad in (None, [], {"tables": {}}, {"tables": {"x": [1]}, "folders": {}}):
        assert ServerState.from_json(bad) is None


def test_a_folder_digest_follows_paths_sizes_and_whole_seconds() -> None:
    listing = {"a.ts": FileEntry(10, 100.25), "b/c.ts": FileEntry(5, 200.0)}
    count, digest = folder_digest(listing)
    assert count == 2
    assert folder_digest({**listing, "a.ts": FileEntry(10, 100.75)}) == (2, digest)
    assert folder_digest({**listing, "a.ts": FileEntry(11, 100.25)})[1] != digest
    assert folder_digest({**listing, "a.ts": FileEntry(10, 101.0)})[1] != digest
    assert folder_digest({"b/c.ts": listing["b/c.ts"], "a.ts": listing["a.ts"]}) == (2, digest)


def test_a_state_whose_count_is_not_a_number_is_none() -> None:
    for count in ("Infinity", "-Infinity", "1e400", "NaN"):
        text = f'{{"tables": {{"x": [{count}, "c"]}}, "folders": {{}}}}'
        assert ServerState.from_json(json.loads(text)) is None, count
