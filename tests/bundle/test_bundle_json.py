"""A bundle's own JSON — manifest.json first, checksums.json last — is as untrusted as its
files: each way it can be malformed is refused as not a PMC bundle, naming the file and the
value, and never escapes as a Python error (a crash of the import dialog or the CLI)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from typing import Any

import pytest

from pmc.bundle import errors
from pmc.bundle.manifest import CHECKSUMS_NAME, MANIFEST_NAME
from pmc.bundle.schema import version_tuple
from tests.bundle.test_archive import manifest, read

DEEP = "[" * 100_000 + "]" * 100_000  # deeper than Python's stack: RecursionError in json


def tar_of(*members: tuple[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


def good_manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(manifest().to_json())
    return data


def good_trailer(raw_manifest: bytes) -> dict[str, Any]:
    sha = hashlib.sha256(raw_manifest).hexdigest()
    return {"members": {MANIFEST_NAME: {"size": len(raw_manifest), "sha256": sha}}, "rows": {}}


def bundle(manifest_json: str | None = None, trailer: Any = None) -> bytes:
    raw = (manifest_json or json.dumps(good_manifest())).encode()
    sums = good_trailer(raw) if trailer is None else trailer
    text = sums if isinstance(sums, str) else json.dumps(sums)
    return tar_of((MANIFEST_NAME, raw), (CHECKSUMS_NAME, text.encode()))


def test_the_crafted_bundles_here_are_read_when_their_json_is_good() -> None:
    reader = read(bundle())
    assert reader.manifest.source.server == "main"


@pytest.mark.parametrize("name", [MANIFEST_NAME, CHECKSUMS_NAME])
def test_json_nested_deeper_than_python_reads_is_refused(name: str) -> None:
    data = bundle(manifest_json=DEEP) if name == MANIFEST_NAME else bundle(trailer=DEEP)
    with pytest.raises(errors.NotABundle, match=f"its {name} is nested too deeply") as info:
        read(data)
    assert info.value.where == "b.pmcbundle"


def _manifest_with(key: str, value: Any) -> str:
    data = good_manifest()
    place, _, leaf = key.rpartition(".")
    (data[place] if place else data)[leaf] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("planned_bytes", 1e400, "planned_bytes is not a whole number of 0 or more (Infinity)"),
        ("planned_bytes", 1.5, "planned_bytes is not a whole number of 0 or more (1.5)"),
        ("planned_files", -1, "planned_files is not a whole number of 0 or more (-1)"),
        ("planned_files", True, "planned_files is not a whole number of 0 or more (true)"),
        ("planned_files", "12", 'planned_files is not a whole number of 0 or more ("12")'),
        ("source.server", {"a": 1}, "source.server is not text (dict)"),
        ("created", 20260101, "created is not text (20260101)"),
        ("parts", "database", 'parts is not a list ("database")'),
        ("parts", [["database"]], "parts is not text (list)"),
        ("tables", {"networks": 1}, "tables is not a list (dict)"),
        ("tables", [["networks"]], "tables[0] is not an object (list)"),
        ("fk_cycles", [7], "fk_cycles is not text (7)"),
        ("data_dirs", ["carousel"], "data_dirs is not an object (list)"),
        ("data_dirs", {"carousel": None}, "data_dirs.carousel is not text (NoneType)"),
    ],
)
def test_a_manifest_value_of_the_wrong_kind_is_refused(key: str, value: Any, said: str) -> None:
    with pytest.raises(errors.NotABundle, match=re.escape(f"its manifest.json is damaged: {said}")):
        read(bundle(manifest_json=_manifest_with(key, value)))


def test_a_table_whose_columns_are_not_pairs_is_refused() -> None:
    table = {"name": "networks", "part": "database", "columns": [["id"]]}
    with pytest.raises(errors.NotABundle, match=r"tables\[0\].columns is not a list of \["):
        read(bundle(manifest_json=_manifest_with("tables", [table])))


def _trailer_with(change: str, value: Any) -> dict[str, Any]:
    raw = json.dumps(good_manifest()).encode()
    sums = good_trailer(raw)
    if change == "rows":
        sums["rows"] = {"networks": value}
    elif change == "members":
        sums["members"] = value
    else:
        sums["members"][MANIFEST_NAME][change] = value
    return sums


@pytest.mark.parametrize(
    ("change", "value", "said"),
    [
        ("size", 1e400, "size is not a whole number of 0 or more (Infinity)"),
        ("size", "400", 'size is not a whole number of 0 or more ("400")'),
        ("size", False, "size is not a whole number of 0 or more (false)"),
        ("size", -1, "size is not a whole number of 0 or more (-1)"),
        ("sha256", "Z" * 64, "sha256 is not a SHA-256"),
        ("sha256", 12, "sha256 is not text (12)"),
        ("rows", -3, "rows.networks is not a whole number of 0 or more (-3)"),
        ("rows", 2.5, "rows.networks is not a whole number of 0 or more (2.5)"),
        ("members", [], "members is not an object (list)"),
    ],
)
def test_a_checksum_value_of_the_wrong_kind_is_refused(change: str, value: Any, said: str) -> None:
    with pytest.raises(
        errors.NotABundle, match=f"its checksums.json is damaged: .*{re.escape(said)}"
    ):
        read(bundle(trailer=_trailer_with(change, value)))


def test_a_trailer_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(errors.NotABundle, match=r"its checksums\.json is damaged: the whole file"):
        read(bundle(trailer=[1, 2]))


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("5.2.1-3", (5, 2, 1, 3)),
        ("5.2²", (5, 2)),  # a superscript is a digit to str.isdigit, not to int()
        ("5.①", (5,)),
        ("٥.٢", (5, 2)),  # Arabic-Indic digits are whole numbers to int()
        ("5." + "1" * 5000, (5,)),  # past the longest number int() reads from text
        ("unknown", None),
    ],
)
def test_a_playout_version_reads_as_numbers_or_none(
    text: str, numbers: tuple[int, ...] | None
) -> None:
    """The version in a bundle's manifest or in the target's version file: whatever it says,
    numbers to compare or none; before, ``5.2²`` raised ValueError out of the import check."""
    assert version_tuple(text) == numbers
