"""Data folders (carousel, av, ts): listings, hashes and transfers between two servers.

A listing is one ``find`` per folder (size and mtime of every file); only files whose size
matches but mtime does not are hashed (``sha256sum`` on both servers), as rsync's quick check
does. Files are streamed primary → secondary as tar (mtimes kept, so the next listing matches);
files only on the secondary are removed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

from pmc.remote import commands
from pmc.remote import files as remote_files
from pmc.remote.connection import Connection
from pmc.sync.delta import FileEntry, FolderDelta, diff_files, needs_hash

_LIST_SCRIPT = (
    '[ -d "$1" ] || exit 0; cd "$1" || exit 3; find . -type f -printf \'%s\\t%T@\\t%P\\0\''
)
_HASH_SCRIPT = (
    'cd "$1" || exit 3; shift; '
    'for f in "$@"; do h=$(sha256sum < "$f") || exit 4; printf \'%s\\t%s\\0\' "${h%% *}" "$f"; done'
)
_REMOVE_SCRIPT = 'cd "$1" || exit 3; xargs -0 -r rm -f --'
_CHUNK = 400  # paths per command line


def parse_listing(text: str) -> dict[str, FileEntry]:
    out: dict[str, FileEntry] = {}
    for record in text.split("\0"):
        if not record.strip("\n"):
            continue
        size, mtime, path = record.lstrip("\n").split("\t", 2)
        out[path] = FileEntry(int(size), float(mtime))
    return out


def parse_hashes(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for record in text.split("\0"):
        if "\t" in record:
            digest, path = record.lstrip("\n").split("\t", 1)
            out[path] = digest
    return out


async def listing(conn: Connection, folder: str) -> dict[str, FileEntry]:
    result = await commands.run(
        conn, ["sh", "-c", _LIST_SCRIPT, "pmc-list", folder], root=True, check=True, timeout=300
    )
    return parse_listing(result.stdout)


async def hashes(conn: Connection, folder: str, paths: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for start in range(0, len(paths), _CHUNK):
        part = list(paths[start : start + _CHUNK])
        argv = ["sh", "-c", _HASH_SCRIPT, "pmc-hash", folder, *part]
        result = await commands.run(conn, argv, root=True, check=True, timeout=900)
        out.update(parse_hashes(result.stdout))
    return out


async def compare_folder(primary: Connection, secondary: Connection, folder: str) -> FolderDelta:
    """What differs in ``folder`` between the two servers."""
    p_list, s_list = await asyncio.gather(listing(primary, folder), listing(secondary, folder))
    unsure = needs_hash(p_list, s_list)
    if unsure:
        p_sums, s_sums = await asyncio.gather(
            hashes(primary, folder, unsure), hashes(secondary, folder, unsure)
        )
        for path in unsure:
            p_list[path] = FileEntry(p_list[path].size, p_list[path].mtime, p_sums.get(path))
            s_list[path] = FileEntry(s_list[path].size, s_list[path].mtime, s_sums.get(path))
    return diff_files(folder, p_list, s_list)


async def apply_folder(
    primary: Connection,
    secondary: Connection,
    delta: FolderDelta,
    *,
    checkpoint: Callable[[], None],
    progress: Callable[[int], None] = lambda _n: None,
) -> tuple[int, int]:
    """Copy and remove files on the secondary; returns (copied, removed)."""
    folder = delta.folder
    removed = 0
    if delta.only_secondary:
        data = "".join(p + "\0" for p in delta.only_secondary).encode()
        await commands.run(
            secondary,
            ["sh", "-c", _REMOVE_SCRIPT, "pmc-remove", folder],
            root=True,
            input=data,
            check=True,
        )
        removed = len(delta.only_secondary)
    copied = 0
    to_copy = delta.to_copy
    if to_copy:
        await commands.run(secondary, ["mkdir", "-p", "--", folder], root=True, check=True)
    for start in range(0, len(to_copy), _CHUNK):
        checkpoint()
        part = list(to_copy[start : start + _CHUNK])
        chunks: AsyncIterator[bytes] = remote_files.download_tree(primary, folder, members=part)
        await remote_files.upload_tree(secondary, folder, chunks)
        copied += len(part)
        progress(copied)
    return copied, removed
