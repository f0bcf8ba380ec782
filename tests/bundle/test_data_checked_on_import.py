"""The import's first pass leaves the data files' checksums to the pass that streams them.

``scan_bundle(hash_data=False)`` reads everything of a bundle file but the data files' bytes:
names, types, sizes, the trailer, the tables and config files with their checksums. The
import's streaming pass (a reader given the trailer and the files it was not read) then finds
a damaged data file as that file ends, with the damaged-bundle message.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from pmc.bundle import errors
from pmc.bundle.archive_reader import BundleReader
from pmc.bundle.preview import Scan, scan_bundle
from tests.bundle.test_archive import good_bundle

BIG = b"carousel object " * 65536  # 1 MiB: a data file the first pass must not read
DATA = "data/carousel/app/object.bin"


def bundle_file(path: Path) -> Path:
    path.write_bytes(good_bundle(data={DATA: BIG}))
    return path


def flip(path: Path, needle: bytes, at: int = 0) -> Path:
    data = bytearray(path.read_bytes())
    data[data.index(needle) + at] ^= 0x01
    path.write_bytes(bytes(data))
    return path


def read_bytes_so_far() -> int:
    """What this process has read from files so far (Linux's count of read bytes)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def stream_again(scan: Scan) -> None:
    """What the import's streaming pass does with the file (import_load.Loader)."""
    with scan.path.open("rb") as raw:
        reader = BundleReader(
            raw, where=str(scan.path), expected=scan.checksums, unverified=scan.unhashed
        )
        reader.verify_all()


def test_first_pass_reads_no_data_file_and_the_streaming_pass_finds_a_damaged_one(
    tmp_path: Path,
) -> None:
    path = bundle_file(tmp_path / "good.pmcbundle")
    before = read_bytes_so_far()
    good = scan_bundle(path, hash_data=False)
    assert read_bytes_so_far() - before < len(BIG) // 4  # the 1 MiB file was skipped through
    assert good.unhashed == {DATA, "data/carousel/app/index.html"}
    assert good.files[DATA][0] == len(BIG)
    assert "2 data files by size" in good.summary()
    stream_again(good)  # an intact bundle streams through

    damaged = flip(bundle_file(tmp_path / "damaged.pmcbundle"), b"carousel object", len(BIG) // 2)
    with pytest.raises(errors.ChecksumMismatch, match="does not match its checksum"):
        scan_bundle(damaged)  # the full check still reads every byte
    scan = scan_bundle(damaged, hash_data=False)  # passed over: the damage is not seen here
    with pytest.raises(errors.ChecksumMismatch) as info:
        stream_again(scan)
    assert DATA in str(info.value)
    assert "the bundle is damaged or was altered" in str(info.value)
    assert "Nothing was changed" in str(info.value)


def test_first_pass_still_checks_tables_and_config_files(tmp_path: Path) -> None:
    table = flip(bundle_file(tmp_path / "table.pmcbundle"), b"1\n2\n3\n", 2)
    with pytest.raises(errors.ChecksumMismatch, match=r"'db/networks\.copy' does not match"):
        scan_bundle(table, hash_data=False)
    config = flip(bundle_file(tmp_path / "config.pmcbundle"), b'{"servers"', 3)
    with pytest.raises(errors.ChecksumMismatch, match=r"'config/spoolers\.json' does not"):
        scan_bundle(config, hash_data=False)


def test_first_pass_finds_a_bundle_cut_inside_a_data_file(tmp_path: Path) -> None:
    path = bundle_file(tmp_path / "cut.pmcbundle")
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"carousel object") + len(BIG) // 2])
    with pytest.raises(errors.TruncatedBundle, match="ends inside a member"):
        scan_bundle(path, hash_data=False)


def test_a_gzipped_bundle_is_read_whole_by_the_first_pass(tmp_path: Path) -> None:
    """A gzip stream cannot be skipped through: its data files are read and hashed."""
    damaged = flip(bundle_file(tmp_path / "damaged.pmcbundle"), b"carousel object", len(BIG) // 2)
    zipped = tmp_path / "damaged.pmcbundle.gz"
    zipped.write_bytes(gzip.compress(damaged.read_bytes(), compresslevel=1))
    with pytest.raises(errors.ChecksumMismatch, match="does not match its checksum"):
        scan_bundle(zipped, hash_data=False)
    good = bundle_file(tmp_path / "good.pmcbundle")
    zipped.write_bytes(gzip.compress(good.read_bytes(), compresslevel=1))
    assert scan_bundle(zipped, hash_data=False).unhashed == frozenset()
