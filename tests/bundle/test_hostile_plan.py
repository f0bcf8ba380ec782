"""A crafted bundle whose manifest or members do not fit the target or themselves is refused
before anything on a server changes, naming the bundle and what is wrong (no server needed:
the checks are pure)."""

from __future__ import annotations

import io
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from pmc.bundle import errors, parts, preview
from pmc.bundle.archive_writer import BundleWriter
from pmc.bundle.import_parts import big_members
from pmc.bundle.manifest import Checksums, Manifest, Source, TableSpec
from pmc.bundle.preview import Preview, Scan, diff_files, diff_rows, scan_bundle
from tests.bundle.test_archive import manifest


def _spec(name: str, part: str) -> TableSpec:
    return TableSpec(name, part, (("service_id" if name == "dvb_services" else "id", "integer"),))


@pytest.mark.parametrize(
    ("spec", "parts", "said"),
    [
        (
            _spec("ts_outputs", "database"),
            ("database",),
            "the bundle's manifest lists table ts_outputs in its database part, but each server "
            "keeps its own ts_outputs: an import never replaces it",
        ),
        (
            _spec("dvb_services", "config"),
            ("config",),
            "the bundle's manifest lists table dvb_services in its config part, but it belongs "
            "to the database part",
        ),
        (
            _spec("eit_event", "database"),
            ("database",),
            "the bundle's manifest lists table eit_event in its database part, but it belongs "
            "to the epg part",
        ),
    ],
)
def test_a_table_listed_in_a_part_it_does_not_belong_to_is_refused(
    spec: TableSpec, parts: tuple[str, ...], said: str, tmp_path: Path
) -> None:
    """Before, a per-server table (TS outputs) listed in the database part replaced the
    target's own, and a table listed in the config part was loaded when only the API config
    was chosen (its daemons not even restarted)."""
    path = _bundle(
        tmp_path,
        lambda w: w.add_bytes(spec.member, b"1\n"),
        manifest(parts=parts, tables=(spec,)),
        {spec.name: 1},
    )
    with pytest.raises(errors.NotABundle) as info:
        scan_bundle(path)
    assert info.value.what == said
    assert info.value.where == str(path)


def _bundle(
    tmp: Path, build: object, m: Manifest | None = None, rows: dict[str, int] | None = None
) -> Path:
    out = io.BytesIO()
    w = BundleWriter(out)
    w.write_manifest(m or manifest(tables=()))
    build(w)  # type: ignore[operator]
    w.finish(rows or {})
    path = tmp / "b.pmcbundle"
    path.write_bytes(out.getvalue())
    return path


@pytest.mark.parametrize("hash_data", [True, False])
def test_a_file_where_a_data_folder_belongs_is_refused(tmp_path: Path, hash_data: bool) -> None:
    """Before, a regular file ``data/av`` was scanned as a data file: alone, the import passed
    over it without a word; beside files in data/av it went to the target's tar as a file
    named ``./`` (tar's own error, exit 2, half-way through staging)."""

    def build(w: BundleWriter) -> None:
        w.add_bytes("data/av", b"not a folder")

    path = _bundle(tmp_path, build)
    with pytest.raises(errors.NotABundle) as info:
        scan_bundle(path, hash_data=hash_data)
    assert info.value.what == "member data/av is a file where the av data folder belongs"
    assert info.value.where == str(path)


@pytest.mark.parametrize("file_first", [True, False])
def test_a_data_file_with_members_under_it_is_refused(tmp_path: Path, file_first: bool) -> None:
    """Before, file data/carousel/app and data/carousel/app/index.html (in either order)
    passed the scan and failed in the target's tar while staging (it cannot make a folder
    where a file is, nor a file where a folder is)."""

    def build(w: BundleWriter) -> None:
        w.add_dir("data/carousel")
        if file_first:
            w.add_bytes("data/carousel/app", b"a file")
        w.add_bytes("data/carousel/app/index.html", b"<html>")
        if not file_first:
            w.add_bytes("data/carousel/app", b"a file")

    path = _bundle(tmp_path, build)
    with pytest.raises(errors.NotABundle) as info:
        scan_bundle(path)
    assert info.value.what == (
        "member data/carousel/app/index.html is inside data/carousel/app, which the bundle "
        "holds as a file"
    )


def test_a_config_file_larger_than_pmc_exports_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, a config member larger than the scan keeps was left out of it silently and the
    import said the file was not in the bundle (the target's kept) instead of refusing it."""
    monkeypatch.setattr(preview, "MAX_CONFIG", 1000)

    def build(w: BundleWriter) -> None:
        w.add_bytes("config/spoolers.json", b" " * 1001)

    path = _bundle(tmp_path, build)
    with pytest.raises(errors.NotABundle) as info:
        scan_bundle(path)
    assert info.value.what == (
        "its config/spoolers.json holds 1001 B, more than the 1000 B PMC exports of a config file"
    )


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            {"source": Source("lab", "main\x1b[2J\nimported: 0 errors", "127.168.1.105")},
            'source.server has a control character ("main\\u001b[2J\\nimported: 0 errors")',
        ),
        (
            {"tables": (TableSpec("networks", "database", (("id\r", "integer"),)),)},
            'tables[0].columns has a control character ("id\\r")',
        ),
        (
            {"pmc_version": "1" * 2000},
            "pmc_version is longer than 1000 characters",
        ),
    ],
)
def test_manifest_text_an_operator_would_read_is_refused_when_it_could_forge_lines(
    tmp_path: Path, change: dict[str, object], said: str
) -> None:
    """Before, the bundle's summary (the CLI's inspect, the import dialog) and the import's log
    printed the manifest's text as it was: a source name could clear the terminal and add a
    line of its own, a column name a carriage return, any text megabytes of it."""
    path = _bundle(tmp_path, lambda w: None, manifest(**{"tables": (), **change}))
    with pytest.raises(errors.NotABundle) as info:
        scan_bundle(path).summary()
    assert info.value.what == f"its manifest.json is damaged: {said}"


def test_a_preview_shows_the_bundles_names_without_their_control_characters(
    tmp_path: Path,
) -> None:
    """Before, the preview that the CLI prints before it asks "Type yes to import" showed a
    data file's name and a service's name from the bundle as they were: a terminal escape in
    either could clear the screen or rewrite what the import would do, and a name that is not
    UTF-8 stopped the print with UnicodeEncodeError."""
    scan = Scan(tmp_path / "b.pmcbundle", manifest(), Checksums({}, {}), 0)
    shown = Preview(scan, "backup")
    shown.files.append(diff_files("carousel", {"app/\x1b[2J\udcff.html": (1, 1)}, {}))
    shown.rows.append(diff_rows("dvb_services", ["service_id", "name"], "5\tBBC\x1b]0;\x07\n", ""))
    text = shown.render()
    assert "    + app/\\x1b[2J\\xff.html" in text.splitlines()
    assert "  dvb_services added (1): 5 BBC\\x1b]0;\\x07" in text.splitlines()
    text.encode("utf-8")  # strict, as a terminal's stdout


def test_a_refused_data_member_is_named_without_its_control_characters(tmp_path: Path) -> None:
    def build(w: BundleWriter) -> None:
        w.add_bytes("data/ts/\x1b[2J", b"a file")
        w.add_bytes("data/ts/\x1b[2J/a.ts", b"ts")

    with pytest.raises(errors.NotABundle) as info:
        scan_bundle(_bundle(tmp_path, build))
    assert info.value.what == (
        "member data/ts/\\x1b[2J/a.ts is inside data/ts/\\x1b[2J, which the bundle holds as a file"
    )


def test_a_nul_byte_in_table_data_is_refused_before_the_import(tmp_path: Path) -> None:
    """PostgreSQL never takes a NUL byte in COPY text. Before, the scan let it pass and the
    import found it only once the target's database read the member (after the backup)."""

    def build(w: BundleWriter) -> None:
        w.add_bytes("db/networks.copy", b"1\n2\x00\n")

    path = _bundle(tmp_path, build, manifest(), {"networks": 2})
    with pytest.raises(errors.BadTableData) as info:
        scan_bundle(path)
    assert info.value.what == (
        "member db/networks.copy, line 2: a NUL byte inside the data: it is not COPY data of "
        "the table"
    )


def test_a_table_the_manifest_lists_without_its_member_is_refused(tmp_path: Path) -> None:
    """PMC writes a member for every table of the manifest, an empty table's included. Before,
    a table listed without one was taken as empty: the import emptied the target's table."""
    path = _bundle(tmp_path, lambda w: None, manifest())
    with pytest.raises(errors.NotABundle) as info:
        scan_bundle(path)
    assert info.value.what == (
        "the bundle's manifest lists table networks, but the bundle has no db/networks.copy "
        "(PMC writes one for every table, an empty table's included)"
    )
    assert info.value.where == str(path)


@pytest.mark.parametrize("mtime", ["inf", "-inf", "nan", "1e300"])
def test_a_member_time_that_is_no_time_is_refused(tmp_path: Path, mtime: str) -> None:
    """Before, a pax mtime of inf escaped the reader as OverflowError, and 1e300 became a
    300-digit time that the target's tar and touch were then given."""
    out = io.BytesIO()
    BundleWriter(out).write_manifest(manifest(tables=()))
    info = tarfile.TarInfo("data/av/x.ts")
    info.size = 1
    info.pax_headers = {"mtime": mtime}
    raw = out.getvalue() + info.tobuf(tarfile.PAX_FORMAT) + b"x" + bytes(511) + bytes(1024)
    path = tmp_path / "b.pmcbundle"
    path.write_bytes(raw)
    with pytest.raises(errors.NotABundle) as found:
        scan_bundle(path)
    said = f"member 'data/av/x.ts' has a time that is not a date ({float(mtime)!r})"
    assert found.value.what == said
    assert found.value.where == str(path)


@pytest.mark.parametrize(
    ("member", "part"), [("config/replicate.conf", "config"), ("data/ts/a.ts", "data")]
)
def test_a_member_of_a_part_the_manifest_does_not_list_is_refused(
    tmp_path: Path, member: str, part: str
) -> None:
    """Before, the bundle's summary listed such a member as part of the bundle, and the
    import passed over it without a word."""
    path = _bundle(
        tmp_path,
        lambda w: (w.add_bytes("db/networks.copy", b"1\n"), w.add_bytes(member, b"x")),
        manifest(parts=("database",)),
        {"networks": 1},
    )
    with pytest.raises(errors.NotABundle) as info:
        scan_bundle(path)
    assert info.value.what == (
        f"member {member} belongs to the {part} part, which the bundle's manifest does not "
        "list (its parts: database)"
    )


def test_a_table_of_a_part_the_manifest_does_not_list_is_refused(tmp_path: Path) -> None:
    spec = TableSpec("eit_event", "epg", (("id", "integer"),))
    path = _bundle(
        tmp_path,
        lambda w: w.add_bytes(spec.member, b"1\n"),
        manifest(parts=("database", "data"), tables=(spec,)),
        {"eit_event": 1},
    )
    with pytest.raises(errors.NotABundle) as info:
        scan_bundle(path)
    assert info.value.what == (
        "the bundle's manifest lists table eit_event in its epg part, which it does not list "
        "among its parts (database, data)"
    )


def test_a_big_data_file_whose_name_is_not_utf8_goes_through_tar() -> None:
    """The parts of a big file are written by a command line naming it, which SSH carries
    as UTF-8 (paramiko raised UnicodeEncodeError on the \\udcff of a name read from a tar
    byte 0xff, failing the import half-way); tar takes such a name as the bytes it is."""
    big = parts.BIG
    files = {"data/av/\udcff.ts": (big, 1), "data/av/b.ts": (big, 1), "data/av/c.ts": (big, 1)}
    files |= {"data/av/d.ts": (big, 1), "data/av/e.ts": (big, 1)}
    found = big_members(files, {"av": "/opt/av.pmc-stage-1"}, {})
    assert [f.name for f in found] == [
        "data/av/b.ts",
        "data/av/c.ts",
        "data/av/d.ts",
        "data/av/e.ts",
    ]


@pytest.mark.parametrize(
    ("tables", "said"),
    [
        (
            (TableSpec("networks", "database", (("id", "integer"),)),) * 2,
            "the bundle's manifest lists table networks twice",
        ),
        (
            (TableSpec("networks", "database", (("id", "integer"), ("id", "text"))),),
            "the bundle's manifest lists column id of table networks twice",
        ),
    ],
)
def test_a_table_or_column_listed_twice_is_refused_naming_the_bundle(
    tmp_path: Path, tables: tuple[TableSpec, ...], said: str
) -> None:
    """Before, the scan (and the bundle's summary) took them, and only the check against a
    target refused them, naming the target rather than the bundle."""
    row = b"\t".join([b"1"] * len(tables[0].columns)) + b"\n"
    path = _bundle(
        tmp_path,
        lambda w: w.add_bytes("db/networks.copy", row),
        manifest(tables=tables),
        {"networks": 1},
    )
    with pytest.raises(errors.NotABundle) as info:
        scan_bundle(path)
    assert (info.value.what, info.value.where) == (said, str(path))


def test_a_row_with_too_few_fields_is_refused_in_the_right_plural(tmp_path: Path) -> None:
    """Before: "it has 1 fields"."""
    spec = TableSpec("networks", "database", (("id", "integer"), ("name", "text")))
    path = _bundle(
        tmp_path, lambda w: w.add_bytes(spec.member, b"1\n"), manifest(tables=(spec,)), {}
    )
    with pytest.raises(errors.BadTableData) as info:
        scan_bundle(path)
    assert info.value.what == (
        "member db/networks.copy, line 1: it has 1 field but the table has 2 columns: it is "
        "not COPY data of the table"
    )


def test_a_gnu_header_time_beyond_a_tars_own_is_refused(tmp_path: Path) -> None:
    """A GNU header holds a time of any size (base-256); before, 8**12 seconds passed."""
    out = io.BytesIO()
    BundleWriter(out).write_manifest(manifest(tables=()))
    info = tarfile.TarInfo("data/av/x.ts")
    info.size = 1
    info.mtime = 8**12
    raw = out.getvalue() + info.tobuf(tarfile.GNU_FORMAT) + b"x" + bytes(511) + bytes(1024)
    path = tmp_path / "b.pmcbundle"
    path.write_bytes(raw)
    with pytest.raises(errors.NotABundle) as found:
        scan_bundle(path)
    assert found.value.what == f"member 'data/av/x.ts' has a time that is not a date ({8**12})"


def test_a_deep_data_path_is_checked_in_memory_that_grows_with_its_length(tmp_path: Path) -> None:
    """A member 8000 folders deep (a 16 KB name): the check of its folders against the files
    keeps no string per folder (that took 64 MB for this one, 17 GB for 20 deeper ones)."""
    deep = "data/av/" + "a/" * 8000 + "x.ts"
    path = _bundle(tmp_path, lambda w: w.add_bytes(deep, b"x"), manifest(tables=()))
    tracemalloc.start()
    try:
        scan_bundle(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_a_part_listed_twice_is_refused(tmp_path: Path) -> None:
    """Before, the bundle's summary and the import's result said it twice."""
    path = _bundle(tmp_path, lambda w: None, manifest(tables=(), parts=("config", "config")))
    with pytest.raises(errors.NotABundle) as info:
        scan_bundle(path)
    assert info.value.what == "its manifest.json is damaged: parts lists config twice"
