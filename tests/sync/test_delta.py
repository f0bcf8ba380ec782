"""Pure deltas: rows by key and hash, files by size/mtime/hash, their order and listing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pmc.sync.delta import (
    DatabaseDelta,
    FileEntry,
    SyncDelta,
    build_schema,
    copy_escape,
    diff_files,
    diff_hashes,
    keys_as_copy,
    needs_hash,
)

maps = st.dictionaries(st.tuples(st.text(max_size=4)), st.sampled_from("abc"), max_size=20)


@given(maps, maps)
def test_diff_hashes_partitions_every_key(
    p: dict[tuple[str], str], s: dict[tuple[str], str]
) -> None:
    delta = diff_hashes("t", p, s)
    assert set(delta.only_primary) == p.keys() - s.keys()
    assert set(delta.only_secondary) == s.keys() - p.keys()
    assert set(delta.differing) == {k for k in p.keys() & s.keys() if p[k] != s[k]}
    assert diff_hashes("t", p, p).is_empty


def test_schema_order_and_skips() -> None:
    columns = [(t, "id") for t in ("child", "parent", "ts_outputs", "replication_status", "nokey")]
    pkeys = {t: ["id"] for t in ("child", "parent", "ts_outputs", "replication_status")}
    schema = build_schema(columns, pkeys, [("child", "parent")])
    assert schema.names == ("parent", "child")
    assert {t for t, _ in schema.skipped} == {"ts_outputs", "replication_status", "nokey"}
    assert "ts_outputs" in build_schema(columns, pkeys, [], include_ts_outputs=True).names


def test_deletes_children_first_upserts_parents_first_and_dry_run_lines() -> None:
    parent = diff_hashes("parent", {("1",): "x", ("2",): "y"}, {("2",): "z", ("3",): "q"})
    child = diff_hashes("child", {}, {("9",): "c"})
    db = DatabaseDelta((parent, child))
    assert [t.table for t in db.delete_order()] == ["child", "parent"]
    assert [t.table for t in db.upsert_order()] == ["parent"]
    folder = diff_files("/d", {"a": FileEntry(1, 5)}, {"b": FileEntry(1, 5)})
    assert SyncDelta(db, (folder,)).lines() == [
        "delete child (9)",
        "delete parent (3)",
        "insert parent (1)",
        "update parent (2)",
        "delete file /d/b",
        "copy file /d/a",
    ]


def test_files_quick_check_then_hash() -> None:
    p = {"same": FileEntry(3, 10.2), "size": FileEntry(3, 10), "touched": FileEntry(3, 20)}
    s = {"same": FileEntry(3, 10.9), "size": FileEntry(4, 10), "touched": FileEntry(3, 30)}
    assert needs_hash(p, s) == ["touched"]
    assert diff_files("/d", p, s).differing == ("size", "touched")
    p["touched"] = FileEntry(3, 20, "h")
    s["touched"] = FileEntry(3, 30, "h")
    assert diff_files("/d", p, s).differing == ("size",)
    s["touched"] = FileEntry(3, 30, "other")
    assert diff_files("/d", p, s).differing == ("size", "touched")


def test_copy_text_escapes() -> None:
    assert copy_escape("a\tb\\c\nd\re") == "a\\tb\\\\c\\nd\\re"
    assert keys_as_copy([("1", "x\ty")]) == b"1\tx\\ty\n"
