"""The bundle format and its safety checks, without servers."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmc.bundle import archive_reader, errors
from pmc.bundle.archive_reader import BundleReader, Limits, verify_file
from pmc.bundle.archive_writer import WRITE_BACK, BundleWriter, open_for_write
from pmc.bundle.manifest import Manifest, Source, TableSpec


def manifest(**kw: object) -> Manifest:
    base: dict[str, object] = {
        "source": Source("lab", "main", "127.168.1.105", "unknown"),
        "created": "2026-01-01T00:00:00Z",
        "parts": ("database", "config", "data"),
        "tables": (TableSpec("networks", "database", (("id", "integer"),)),),
    }
    base.update(kw)
    return Manifest(**base)  # type: ignore[arg-type]


def good_bundle(extra: bytes = b"", data: dict[str, bytes] | None = None) -> bytes:
    """A valid bundle: 3 network rows, spoolers.json, a carousel folder with ``data`` (name →
    bytes) and index.html (``extra`` appended to it)."""
    out = io.BytesIO()
    w = BundleWriter(out)
    w.write_manifest(manifest())
    w.add_bytes("db/networks.copy", b"1\n2\n3\n")
    w.add_bytes("config/spoolers.json", b'{"servers": []}\n')
    w.add_dir("data/carousel")
    for name, content in (data or {}).items():
        w.add_bytes(name, content)
    w.add_bytes("data/carousel/app/index.html", b"<html>" * 300 + extra)
    w.finish({"networks": 3})
    return out.getvalue()


def read(data: bytes, **kw: object) -> BundleReader:
    reader = BundleReader(io.BytesIO(data), where="b.pmcbundle", **kw)  # type: ignore[arg-type]
    reader.verify_all()
    return reader


def test_round_trip_streams_members_and_verifies_trailer() -> None:
    data = good_bundle()
    reader = BundleReader(io.BytesIO(data), where="b")
    assert reader.manifest.tables[0].name == "networks"
    seen = {}
    for member, stream in reader.members():
        seen[member.name] = b"" if member.is_dir else stream.read(1 << 20)
    assert list(seen) == [
        "db/networks.copy",
        "config/spoolers.json",
        "data/carousel",
        "data/carousel/app/index.html",
    ]
    assert seen["config/spoolers.json"] == b'{"servers": []}\n'
    assert reader.checksums is not None
    assert reader.checksums.rows == {"networks": 3}
    # the standard library agrees it is a plain tar with manifest.json first
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        assert tf.getnames()[0] == "manifest.json"
        assert tf.getnames()[-1] == "checksums.json"


def _contents(reader: BundleReader) -> dict[str, bytes]:
    return {m.name: b"" if m.is_dir else s.read(1 << 20) for m, s in reader.members()}


def test_gzip_compressed_bundle_is_read() -> None:
    """A bundle gzipped on the way (e.g. by a mail or file-transfer tool) reads as the same
    bundle: same manifest, members, bytes and checksums; damage inside is still caught."""
    plain = BundleReader(io.BytesIO(good_bundle()), where="b")
    zipped = BundleReader(io.BytesIO(gzip.compress(good_bundle())), where="b.gz")
    assert zipped.manifest == plain.manifest
    assert _contents(zipped) == _contents(plain)
    assert zipped.checksums == plain.checksums and zipped.checksums is not None
    data = bytearray(good_bundle())
    data[data.index(b"<html><html>") + 3] ^= 0x20
    with pytest.raises(errors.ChecksumMismatch, match="does not match its checksum"):
        read(gzip.compress(bytes(data)))


def test_open_for_write_leaves_nothing_on_error(tmp_path: Path) -> None:
    target = tmp_path / "x.pmcbundle"
    with pytest.raises(RuntimeError), open_for_write(target) as out:
        out.write(b"half")
        raise RuntimeError("cancelled")
    assert list(tmp_path.iterdir()) == []
    with open_for_write(target) as out:
        out.write(good_bundle())
    assert [p.name for p in tmp_path.iterdir()] == ["x.pmcbundle"]
    m, sums = verify_file(target)
    assert m.source.server == "main" and "db/networks.copy" in sums.members


def resident_bytes(path: Path) -> int:
    """How much of ``path`` the page cache holds (util-linux ``fincore``)."""
    out = subprocess.run(
        ["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(out.stdout)


@contextlib.contextmanager
def disk_folder() -> Iterator[Path]:
    """A folder under /var/tmp: a disk, where /tmp may be a tmpfs (whose pages are the file
    itself and never leave the page cache); skips the test where /var/tmp is a tmpfs too."""
    with tempfile.TemporaryDirectory(dir="/var/tmp") as folder:
        kind = subprocess.run(
            ["stat", "--file-system", "--format", "%T", folder],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        if kind == "tmpfs":
            pytest.skip("/var/tmp is a tmpfs here: its files are never written to a disk")
        yield Path(folder)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the page cache of Linux")
def test_a_written_bundle_is_on_disk_and_not_kept_in_memory() -> None:
    """A written bundle is handed to the disk as it grows and none of it stays in the page
    cache once it is in place (a 2 GB export must not push the desktop's own files out)."""
    with disk_folder() as folder:
        target = folder / "big.pmcbundle"
        chunk = os.urandom(1 << 20)
        size = 4 * WRITE_BACK + (3 << 20)
        with open_for_write(target) as out:
            for _ in range(size >> 20):
                out.write(chunk)
        assert target.stat().st_size == size
        assert resident_bytes(target) == 0
        with target.open("rb") as back:  # and it is all there
            assert all(back.read(1 << 20) == chunk for _ in range(size >> 20))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the page cache of Linux")
@pytest.mark.parametrize("member_size", [192 << 20, 32 << 10], ids=["one big file", "small files"])
def test_a_bundle_is_asked_of_the_disk_ahead_of_its_reader(
    monkeypatch: pytest.MonkeyPatch, member_size: int
) -> None:
    """While an import hashes and sends what it read, the disk reads on: a bundle being read
    is asked of the disk a window ahead of the reader — and not all at once, and not while
    the members are only skipped."""
    window = 64 << 20  # above what Linux reads ahead by itself (2 × read_ahead_kb)
    monkeypatch.setattr(archive_reader, "READ_AHEAD", window)
    with disk_folder() as folder:
        target = folder / "big.pmcbundle"
        with open_for_write(target) as out:  # none of it left in the page cache
            writer = BundleWriter(out)
            writer.write_manifest(manifest())
            for n in range(3 * window // member_size):
                writer.add_bytes(f"data/carousel/{n}.ts", os.urandom(member_size))
            writer.finish({})
        assert resident_bytes(target) == 0

        def read_ahead_to(least: int) -> int:
            deadline = time.monotonic() + 30  # the disk reads in the background
            while (resident := resident_bytes(target)) < least:
                assert time.monotonic() < deadline, f"only {resident} bytes were read ahead"
                time.sleep(0.05)
            return resident

        with target.open("rb") as raw:  # a first look, members skipped: nothing read ahead
            reader = BundleReader(raw, where="big.pmcbundle")
            for _, stream in reader.members():
                stream.skip()
            assert reader.checksums is not None
        time.sleep(0.5)
        # Linux itself reads on over the skips of small members, never the whole file
        assert resident_bytes(target) < (window // 2 if member_size > window else 3 * window // 2)
        with target.open("rb") as raw:
            os.posix_fadvise(raw.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)  # cold again
            assert resident_bytes(target) < 1 << 20
            members = BundleReader(raw, where="big.pmcbundle").members()
            stream = next(members)[1]

            def read(size: int) -> None:
                nonlocal stream
                while size > 0:
                    if not (data := stream.read(min(size, 1 << 20))):
                        stream = next(members)[1]
                    size -= len(data)

            read(2 << 20)
            assert read_ahead_to(window) <= 2 * window  # a window ahead, not the whole file
            read(window)  # the window moves on with the reader
            read_ahead_to(2 * window)


def test_not_a_bundle() -> None:
    with pytest.raises(errors.NotABundle, match="not a tar archive"):
        read(b"PK\x03\x04 this is a zip" + bytes(2000))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        info = tarfile.TarInfo("readme.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(errors.NotABundle, match=r"first member is not manifest\.json"):
        read(out.getvalue())


@pytest.mark.parametrize("cut", [700, 2500, -3000])
def test_truncated(cut: int) -> None:
    data = good_bundle()
    with pytest.raises((errors.TruncatedBundle, errors.NotABundle)) as info:
        read(data[:cut])
    if cut > 1500 or cut < 0:
        assert isinstance(info.value, errors.TruncatedBundle)
        assert "truncated" in str(info.value) or "ends" in str(info.value)


def test_checksum_mismatch() -> None:
    data = bytearray(good_bundle())
    pos = data.index(b"<html><html>")
    data[pos + 3] ^= 0x20
    with pytest.raises(errors.ChecksumMismatch, match="does not match its checksum"):
        read(bytes(data))


def test_unknown_format_version() -> None:
    out = io.BytesIO()
    w = BundleWriter(out)
    w.write_manifest(manifest(format_version=99))
    w.finish({})
    with pytest.raises(errors.UnknownFormatVersion, match="version 99 is not supported"):
        read(out.getvalue())


def raw_tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    """A tar with a real manifest first, then ``members`` exactly as given."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        raw = manifest().to_json()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(raw)
        tf.addfile(info, io.BytesIO(raw))
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data else None)
    return out.getvalue()


def reg(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


@pytest.mark.parametrize(
    "name",
    [
        "../etc/passwd",
        "data/carousel/../../../etc/cron.d/x",
        "/etc/passwd",
        "C:/Windows/x",
        "data\\carousel\\x",
        "data/other/x",
    ],
)
def test_path_traversal_names(name: str) -> None:
    with pytest.raises(errors.UnsafePath):
        read(raw_tar([reg(name)]))


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_links_are_refused(kind: bytes) -> None:
    info = tarfile.TarInfo("data/carousel/link")
    info.type = kind
    info.linkname = "/etc/shadow" if kind == tarfile.SYMTYPE else "data/carousel/../../x"
    with pytest.raises(errors.UnsafePath, match="is a link"):
        read(raw_tar([(info, b"")]))


def test_special_files_are_refused() -> None:
    info = tarfile.TarInfo("data/carousel/fifo")
    info.type = tarfile.FIFOTYPE
    with pytest.raises(errors.UnsafePath, match="special file"):
        read(raw_tar([(info, b"")]))


def test_duplicate_members() -> None:
    with pytest.raises(errors.DuplicateMember, match="more than once"):
        read(raw_tar([reg("data/av/a.ts"), reg("data/av/a.ts")]))


def test_bomb_by_ratio() -> None:
    out = io.BytesIO()
    w = BundleWriter(out)
    w.write_manifest(manifest())
    zero = bytes(1 << 20)

    class Zeros:
        def read(self, n: int = -1, /) -> bytes:
            return zero[: max(0, n)]

    w.add_stream("data/av/huge.ts", 300 << 20, Zeros())
    w.finish({})
    packed = gzip.compress(out.getvalue(), compresslevel=1)
    assert len(packed) < 2 << 20
    with pytest.raises(errors.DecompressionBomb, match="decompression bomb"):
        read(packed, limits=Limits(max_ratio=50, ratio_grace=8 << 20))


def test_bomb_by_entry_count_and_huge_extended_header() -> None:
    members = [reg(f"data/ts/{i}.ts") for i in range(20)]
    with pytest.raises(errors.DecompressionBomb, match="more than 10 tar headers"):
        read(raw_tar(members), limits=Limits(max_entries=10))
    # a pax header that claims 1 GiB is refused before anything is read into memory
    head = bytearray(tarfile.TarInfo("data/ts/x").tobuf(tarfile.USTAR_FORMAT))
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = 1 << 30
    bad = raw_tar([])[:-1024]
    bad = bad.rstrip(b"\x00")
    bad += bytes(-len(bad) % 512) + info.tobuf(tarfile.USTAR_FORMAT) + bytes(head)
    with pytest.raises(errors.DecompressionBomb, match="extended tar header"):
        read(bad + bytes(10240))


def test_trailer_must_list_every_member() -> None:
    out = io.BytesIO()
    w = BundleWriter(out)
    w.write_manifest(manifest())
    w.add_bytes("config/replicate.conf", b"127.17.59.128\n")
    w._sums.pop("config/replicate.conf")
    w.finish({})
    with pytest.raises(errors.ChecksumMismatch, match="has no checksum"):
        read(out.getvalue())


def test_expected_checksums_catch_a_changed_file() -> None:
    data = good_bundle()
    _, sums = BundleReader(io.BytesIO(data), where="b"), None
    first = BundleReader(io.BytesIO(data), where="b")
    sums = first.verify_all()
    changed = good_bundle(extra=b"!")
    reader = BundleReader(io.BytesIO(changed), where="b", expected=sums)
    with pytest.raises(errors.ChecksumMismatch, match="changed while"):
        reader.verify_all()


# --- extended headers and header blocks count (issue: an 8 MB gzip of pax headers burned 52 s)
class _Counting:
    """A source that counts what the reader took from it."""

    def __init__(self, data: bytes) -> None:
        self._raw = io.BytesIO(data)
        self.taken = 0

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._raw.read(size)
        self.taken += len(chunk)
        return chunk


def pax(name: str, comment_bytes: int = 0) -> tuple[tarfile.TarInfo, bytes]:
    """A member preceded by a pax header (a long name, plus an ignored comment if asked)."""
    info = tarfile.TarInfo(name)
    info.size = 1
    info.pax_headers = {"path": name, **({"comment": "c" * comment_bytes} if comment_bytes else {})}
    return info, b"x"


def test_extended_headers_count_as_tar_headers() -> None:
    members = [pax(f"data/ts/{i:03d}-" + "n" * 120 + ".ts") for i in range(6)]
    # 7 members (with the manifest), but 13 header blocks and 6 extended headers
    with pytest.raises(errors.DecompressionBomb, match="more than 12 tar headers"):
        read(raw_tar(members), limits=Limits(max_entries=12))


def test_a_run_of_extended_headers_is_refused_after_reading_a_few() -> None:
    head = raw_tar([])[:-1024].rstrip(b"\x00")
    head += bytes(-len(head) % 512)
    one = tarfile.TarInfo("././@PaxHeader")
    one.type = tarfile.XHDTYPE
    record = b"30 comment=" + b"p" * 18 + b"\n"
    one.size = len(record)
    block = one.tobuf(tarfile.USTAR_FORMAT) + record + bytes(-len(record) % 512)
    packed = gzip.compress(head + block * 100_000 + bytes(10240), compresslevel=9)
    assert len(packed) < 2 << 20  # a small file …
    source = _Counting(packed)
    with pytest.raises(errors.DecompressionBomb, match="extended tar headers in a row"):
        BundleReader(source, where="b").verify_all()  # type: ignore[arg-type]
    assert source.taken < 256 << 10  # … refused after reading a few headers of it


def test_extended_header_bytes_count_in_the_ratio() -> None:
    members = [pax(f"data/ts/{i}.ts", comment_bytes=60_000) for i in range(400)]
    packed = gzip.compress(raw_tar(members), compresslevel=9)
    with pytest.raises(errors.DecompressionBomb, match="decompression bomb"):
        read(packed, limits=Limits(max_ratio=50, ratio_grace=4 << 20))


def _with_type(data: bytes, name: str, kind: bytes) -> bytes:
    """``data`` with the ustar header of member ``name`` given type ``kind`` (checksum fixed)."""
    raw = bytearray(data)
    at = raw.index(name.encode() + b"\x00")
    assert at % 512 == 0
    raw[at + 156 : at + 157] = kind
    raw[at + 148 : at + 156] = b" " * 8
    raw[at + 148 : at + 156] = b"%06o\x00 " % sum(raw[at : at + 512])
    return bytes(raw)


def test_contiguous_file_is_a_regular_file_as_for_tar() -> None:
    """Type 7 (contiguous file) is extracted by tar as a regular file: its data is data. A
    reader that skipped it would take the data for headers and see members tar does not."""
    hidden = tarfile.TarInfo("data/carousel/hidden.sh")
    hidden.size = 3
    inner = hidden.tobuf(tarfile.USTAR_FORMAT) + b"ls\n" + bytes(509)
    out = io.BytesIO()
    w = BundleWriter(out)
    w.write_manifest(manifest())
    w.add_bytes("data/carousel/app.bin", inner)
    w.add_bytes("data/carousel/after.txt", b"after\n")
    w.finish({})
    data = _with_type(out.getvalue(), "data/carousel/app.bin", tarfile.CONTTYPE)
    reader = BundleReader(io.BytesIO(data), where="b")
    seen = {m.name: s.read(1 << 20) for m, s in reader.members()}
    assert seen == {"data/carousel/app.bin": inner, "data/carousel/after.txt": b"after\n"}
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:  # what tar sees
        assert tf.getnames() == ["manifest.json", *seen, "checksums.json"]
        assert tf.getmember("data/carousel/app.bin").isreg()


def test_a_folder_header_with_data_is_refused() -> None:
    info = tarfile.TarInfo("data/carousel/dir")
    info.type = tarfile.DIRTYPE
    info.size = 512
    raw = raw_tar([reg("data/carousel/a")])
    at = raw.index(b"data/carousel/a\x00")
    with_dir = raw[:at] + info.tobuf(tarfile.USTAR_FORMAT) + bytes(512) + raw[at:]
    with pytest.raises(errors.NotABundle, match="declares 512 bytes of data"):
        read(with_dir)
