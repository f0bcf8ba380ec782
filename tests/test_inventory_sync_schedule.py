"""The sync schedule in the inventory ([clusters.sync]): model, lossless load/save with lines,
validation with FILE:LINE messages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pmc.inventory import Architecture, Inventory, Role, SyncEngine, SyncSchedule
from pmc.inventory_file import load_inventory, parse_inventory, save_inventory
from pmc.validation import validate

BASE = """\
version = 1

[[clusters]]
name = "studio"
architecture = "combined"

[clusters.sync]   # keep the backup in line by itself
every_minutes = 15
on_drift = true   # and when something differs
engine = "playout"

[[clusters.servers]]
name = "main"
management_address = "192.168.1.105"
redundancy_address = "172.17.59.128"
role = "main"

[[clusters.servers]]
name = "backup"
management_address = "192.168.1.108"
redundancy_address = "172.17.59.129"
role = "backup"

[[clusters]]
name = "other"
architecture = "web-one-way"

[[clusters.servers]]
name = "a"
management_address = "192.168.2.1"
role = "main"

[[clusters.servers]]
name = "b"
management_address = "192.168.2.2"
role = "backup"
"""


def test_schedule_is_read_with_its_lines() -> None:
    loaded = parse_inventory(BASE, "inv.toml")
    assert not loaded.problems
    studio, other = loaded.inventory.clusters
    assert studio.sync == SyncSchedule(15, True, 5.0, SyncEngine.PLAYOUT, False)
    assert other.sync is None
    assert loaded.cluster_line(0, "sync") == 7
    assert loaded.line_of(("clusters", 0, "sync", "on_drift")) == 9
    assert len(studio.servers) == 2 and studio.servers[1].name == "backup"
    assert validate(loaded) == []


def test_editing_a_schedule_keeps_comments_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "inv.toml"
    path.write_text(BASE)
    inventory = load_inventory(path).inventory
    studio, other = inventory.clusters
    studio = dataclasses.replace(
        studio, sync=dataclasses.replace(studio.sync, every_minutes=2.5, on_drift=False)
    )
    other = dataclasses.replace(other, sync=SyncSchedule(every_minutes=60))
    changed = Inventory((studio, other))
    save_inventory(changed, path)
    text = path.read_text()
    assert "[clusters.sync]   # keep the backup in line by itself" in text
    assert "every_minutes = 2.5\n" in text and "on_drift = false   # and when" in text
    assert text.count("[clusters.sync]") == 2 and "every_minutes = 60\n" in text
    assert load_inventory(path).inventory == changed
    save_inventory(changed, path)  # unchanged: same text
    assert path.read_text() == text
    # Off: the table goes, the servers stay.
    off = Inventory((dataclasses.replace(studio, sync=None), other))
    save_inventory(off, path)
    reread = load_inventory(path)
    assert reread.inventory == off and not reread.problems
    assert "keep the backup in line" not in path.read_text()


def test_new_schedule_on_a_new_file(tmp_path: Path) -> None:
    path = tmp_path / "inv.toml"
    inventory = parse_inventory(BASE).inventory
    cluster = dataclasses.replace(
        inventory.clusters[0],
        sync=SyncSchedule(on_drift=True, check_minutes=10, include_ts_outputs=True),
    )
    save_inventory(Inventory((cluster,)), path)
    text = path.read_text()
    assert "on_drift = true\ncheck_minutes = 10\n" in text
    assert "include_ts_outputs = true" in text and "every_minutes" not in text
    assert load_inventory(path).inventory == Inventory((cluster,))


def test_wrong_types_and_unknown_keys_are_problems_at_their_lines() -> None:
    text = BASE.replace("every_minutes = 15", 'every_minutes = "15"\nevery_minute = 3').replace(
        'engine = "playout"', 'engine = "slony"\ninclude_ts_outputs = "yes"'
    )
    loaded = parse_inventory(text, "inv.toml")
    assert [str(p) for p in validate(loaded)] == [
        "inv.toml:8: sync.every_minutes must be a number of minutes, not text",
        "inv.toml:9: unknown setting 'every_minute' in the sync schedule of cluster 'studio'"
        " (did you mean 'every_minutes'?)",
        'inv.toml:11: engine "slony" is not one of "delta", "playout"',
        "inv.toml:12: sync.include_ts_outputs must be true or false, not text",
    ]
    not_a_table = parse_inventory(BASE.replace("[clusters.sync]", "[clusters.sink]"), "i")
    assert "unknown setting 'sink'" in str(not_a_table.problems[0])


def test_validation_of_the_schedule() -> None:
    text = (
        BASE.replace("every_minutes = 15", "every_minutes = 0.5\ncheck_minutes = 2000")
        + '\n[clusters.sync]\nengine = "playout"\n'
    )
    problems = [str(p) for p in validate(parse_inventory(text, "inv.toml"))]
    assert problems == [
        "inv.toml:8: cluster 'studio', sync schedule: every_minutes = 0.5 is outside"
        " 1–10080 minutes (at least a minute, at most a week)",
        "inv.toml:9: cluster 'studio', sync schedule: check_minutes = 2000 is outside"
        " 1–1440 minutes (at least a minute, at most a day)",
        "inv.toml:29: cluster 'other', sync schedule: engine = \"playout\" runs copy_config.sh"
        " over eth2, and server 'a' has no redundancy_address; add it or use engine = \"delta\"",
        "inv.toml:34: cluster 'other', sync schedule: engine = \"playout\" runs copy_config.sh"
        " over eth2, and server 'b' has no redundancy_address; add it or use engine = \"delta\"",
    ]


def test_a_schedule_needs_a_main_and_a_backup() -> None:
    head, tail = BASE.split('name = "other"')
    tail = tail.replace("web-one-way", "admin-player").replace('"main"', '"admin"')
    text = head + 'name = "other"' + tail.replace('"backup"', '"player"')
    text += "\n[clusters.sync]\nevery_minutes = 10\n"
    loaded = parse_inventory(text, "inv.toml")
    other = loaded.inventory.clusters[1]
    assert other.architecture is Architecture.ADMIN_PLAYER
    assert {s.role for s in other.servers} == {Role.ADMIN, Role.PLAYER}
    [problem] = [p for p in validate(loaded) if p.cluster == "other"]
    assert str(problem).startswith("inv.toml:38: cluster 'other', sync schedule: a sync copies")


def test_a_number_of_minutes_too_large_for_a_float_is_a_problem_at_its_line() -> None:
    """An editor slip (a key held down) gives a 400-digit number of minutes: TOML reads it as
    a whole number, which validation used to format with :g (OverflowError out of validate)."""
    huge = "9" * 400
    text = BASE.replace("every_minutes = 15", f"every_minutes = {huge}\ncheck_minutes = -{huge}")
    loaded = parse_inventory(text, "inv.toml")
    assert [str(p) for p in validate(loaded)] == [
        "inv.toml:8: sync.every_minutes is a number too large to be minutes (400 digits)",
        "inv.toml:9: sync.check_minutes is a number too large to be minutes (400 digits)",
    ]
    assert loaded.inventory.clusters[0].sync is not None
    assert loaded.inventory.clusters[0].sync.describe().startswith("on drift (checked every 5 min)")
