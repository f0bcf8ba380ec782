"""Remote files: read, write atomically with a backup, restore a backup, stream large data.

A write never leaves a partial file in place: the new content goes to a temporary file in the
same folder, is checked (size and SHA-256), given the old file's owner, mode and SELinux label,
flushed to disk (fsync), and only then renamed over the file — one remote script, run as root
through ``sudo -n`` for a non-root login. Before the rename the old file is copied to
``NAME.pmc-backup-YYYYMMDDTHHMMSSZ`` next to it. A cut connection or a cancel ends the script
before the rename, and the temporary file is removed. Each write is noted, with the SHA-256
of the file before and after, for the server's audit log (:mod:`pmc.audit_trail`).

Large data streams as chunks (``cat`` for a file, ``tar -cf -`` for a folder) over an exec
channel: measured faster than SFTP here, and it works as root through sudo as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import posixpath
import shlex
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import paramiko

from pmc import audit_trail
from pmc.remote import bulk, commands, process_group, sudo
from pmc.remote.commands import CommandResult
from pmc.remote.connection import Connection
from pmc.remote.errors import CommandFailed, PermissionDenied, RemoteFileError

CHUNK = 1024 * 1024
BACKUP_MARK = ".pmc-backup-"

_WRITE_SCRIPT = r"""
set -eu
f=$1; size=$2; sum=$3; backup=$4; newmode=$5
dir=$(dirname -- "$f"); base=$(basename -- "$f")
[ -d "$dir" ] || { echo "pmc: folder $dir does not exist" >&2; exit 4; }
tmp=$(mktemp -- "$dir/.$base.pmc-tmp-XXXXXX")
trap 'rm -f -- "$tmp" "$tmp.bak"' EXIT
trap 'exit 143' TERM INT HUP PIPE
head -c "$size" > "$tmp"
got=$(wc -c < "$tmp" | tr -d ' ')
[ "$got" -eq "$size" ] || { echo "pmc: received $got of $size bytes" >&2; exit 3; }
got=$(sha256sum < "$tmp" | cut -d' ' -f1)
[ "$got" = "$sum" ] || { echo "pmc: checksum differs" >&2; exit 3; }
b=; old=
if [ -e "$f" ]; then
  old=$(sha256sum < "$f" | cut -d' ' -f1)
  chown --reference="$f" -- "$tmp"
  chmod --reference="$f" -- "$tmp"
  if command -v chcon >/dev/null 2>&1; then chcon --reference="$f" -- "$tmp" 2>/dev/null || :; fi
  if [ -n "$backup" ]; then
    b=$backup; n=1
    while [ -e "$b" ]; do n=$((n+1)); b="$backup-$n"; done
    cp -p -- "$f" "$tmp.bak"; sync -- "$tmp.bak"; mv -- "$tmp.bak" "$b"
  fi
else
  chmod "$newmode" -- "$tmp"
fi
sync -- "$tmp"
mv -f -- "$tmp" "$f"
trap - EXIT
sync -- "$dir" 2>/dev/null || :
printf 'written %s\nwas %s\n' "$b" "$old"
"""

_RESTORE_SCRIPT = r"""
set -eu
f=$1; backup=$2
[ -f "$backup" ] || { echo "pmc: backup $backup does not exist" >&2; exit 4; }
dir=$(dirname -- "$f"); base=$(basename -- "$f")
tmp=$(mktemp -- "$dir/.$base.pmc-tmp-XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
trap 'exit 143' TERM INT HUP PIPE
cp -p -- "$backup" "$tmp"
sync -- "$tmp"
mv -f -- "$tmp" "$f"
trap - EXIT
sync -- "$dir" 2>/dev/null || :
"""


@dataclass(frozen=True)
class WriteResult:
    path: str
    backup: str | None  # where the previous content was kept; None for a new file
    size: int


def backup_name(path: str, when: datetime | None = None) -> str:
    """``spoolers.json.pmc-backup-20261125T213000Z`` next to ``spoolers.json``."""
    stamp = (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{path}{BACKUP_MARK}{stamp}"


def _check_path(connection: Connection, path: str) -> None:
    if not posixpath.isabs(path) or "\x00" in path or "\n" in path:
        raise RemoteFileError(
            f"{path!r} is not an absolute path", server=connection.label, hint="Use a full path"
        )


def _fail(connection: Connection, doing: str, path: str, result: CommandResult) -> RemoteFileError:
    message = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    if "Permission denied" in result.stderr or "Read-only file system" in result.stderr:
        raise PermissionDenied(
            f"cannot {doing} {path}: {message}",
            server=connection.label,
            hint="Check the file's owner and permissions, or log in as a user with sudo rights",
        )
    return RemoteFileError(
        f"cannot {doing} {path}: {message or f'exit status {result.exit_status}'}",
        server=connection.label,
        hint="The file in place was not changed",
    )


async def read_bytes(connection: Connection, path: str, *, root: bool = True) -> bytes:
    """The whole content of ``path`` (SFTP with prefetch for a root login, ``sudo cat`` else)."""
    _check_path(connection, path)
    if not (root and connection.needs_sudo):
        return await _sftp_read(connection, path)
    parts = [chunk async for chunk in download_file(connection, path, root=root)]
    return b"".join(parts)


async def read_text(connection: Connection, path: str, *, root: bool = True) -> str:
    """The file's text; bytes that are not UTF-8 kept as surrogate escapes (written back as
    they were by :func:`write_atomic`)."""
    data = await read_bytes(connection, path, root=root)
    return data.decode("utf-8", "surrogateescape")


async def _sftp_read(connection: Connection, path: str) -> bytes:
    transport = await connection.transport()
    await connection.slots.acquire()

    def go() -> bytes:
        # One SFTP client per operation: a shared one deadlocks across threads (paramiko #718).
        with connection.opening:
            sftp = paramiko.SFTPClient.from_transport(transport)
        if sftp is None:  # pragma: no cover - paramiko returns None only on a closed channel
            raise connection.lost(None, f"reading {path}")
        try:
            with sftp.open(path, "rb") as remote:
                size = remote.stat().st_size or 0
                remote.prefetch(size, max_concurrent_requests=64)
                parts = []
                while block := remote.read(CHUNK):
                    parts.append(block)
                return b"".join(parts)
        except FileNotFoundError as exc:
            raise RemoteFileError(
                f"{path} does not exist", server=connection.label, hint="Check the path"
            ) from exc
        except PermissionError as exc:
            raise PermissionDenied(
                f"cannot read {path}: permission denied",
                server=connection.label,
                hint="Check the file's permissions, or log in as a user with sudo rights",
            ) from exc
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise connection.lost(exc, f"reading {path}") from exc
        finally:
            sftp.close()

    try:
        return await connection.in_thread(connection.executors.transfers, go)
    finally:
        connection.slots.release()


async def write_atomic(
    connection: Connection,
    path: str,
    content: bytes | str,
    *,
    backup: bool = True,
    new_mode: int = 0o644,
    root: bool = True,
    timeout: float | None = None,
) -> WriteResult:
    """Replace ``path`` with ``content`` all at once, keeping owner and mode, with a backup."""
    _check_path(connection, path)
    # surrogateescape: bytes that were not UTF-8 when read go back exactly as they were
    data = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
    digest = hashlib.sha256(data).hexdigest()
    argv = [
        "sh", "-c", _WRITE_SCRIPT, "pmc-write", path, str(len(data)), digest,
        backup_name(path) if backup else "", f"{new_mode:o}",
    ]  # fmt: skip
    result = await commands.run(
        connection, argv, root=root, input=data, timeout=timeout or _transfer_timeout(len(data))
    )
    if not result.ok or not result.stdout.startswith("written"):
        raise _fail(connection, "write", path, result)
    lines = result.stdout.splitlines()
    kept = lines[0].removeprefix("written").strip() or None
    before = lines[1].removeprefix("was").strip() or None if len(lines) > 1 else None
    audit_trail.note_file(connection.server.name, path, before, digest)
    return WriteResult(path, kept, len(data))


async def restore_backup(
    connection: Connection, path: str, backup: str, *, root: bool = True
) -> None:
    """Put the content of ``backup`` back in place of ``path``, atomically."""
    _check_path(connection, path)
    _check_path(connection, backup)
    argv = ["sh", "-c", _RESTORE_SCRIPT, "pmc-restore", path, backup]
    result = await commands.run(connection, argv, root=root, timeout=120)
    if not result.ok:
        raise _fail(connection, "restore", path, result)


def _transfer_timeout(size: int) -> float:
    return 120 + size / (1024 * 1024)  # at least 1 MiB/s


async def download_file(
    connection: Connection, path: str, *, root: bool = True
) -> AsyncIterator[bytes]:
    """The content of ``path`` as chunks of up to 1 MiB, read as they arrive."""
    _check_path(connection, path)
    async for chunk in stream_output(connection, ["cat", "--", path], root=root, what=path):
        yield chunk


async def download_tree(
    connection: Connection, remote_dir: str, *, root: bool = True, members: Sequence[str] = (".",)
) -> AsyncIterator[bytes]:
    """A tar stream (chunks) of ``remote_dir`` (or of ``members`` inside it)."""
    _check_path(connection, remote_dir)
    argv = ["tar", "-C", remote_dir, "-cf", "-", "--", *members]
    async for chunk in stream_output(connection, argv, root=root, what=remote_dir):
        yield chunk


async def upload_tree(
    connection: Connection, remote_dir: str, tar_chunks: AsyncIterable[bytes], *, root: bool = True
) -> None:
    """Unpack a tar stream into ``remote_dir`` (which must exist); the files are on disk
    (``sync -f``) when this returns, not only in the server's memory."""
    _check_path(connection, remote_dir)
    script = 'tar -C "$1" -xf - --no-same-owner && sync -f -- "$1"'
    argv = ["sh", "-c", script, "pmc-unpack", remote_dir]
    await stream_input(connection, argv, tar_chunks, root=root, what=remote_dir)


async def stream_output(
    connection: Connection, argv: Sequence[str], *, root: bool, what: str
) -> AsyncIterator[bytes]:
    """Run ``argv`` and yield its standard output in chunks; stop it if the reader stops."""
    pipe = await _Pipe.start(connection, argv, root=root)
    try:
        while chunk := await connection.in_thread(connection.executors.transfers, pipe.read):
            yield chunk
        await connection.in_thread(connection.executors.control, pipe.finish, what, "read")
    finally:
        await pipe.close()


async def stream_input(
    connection: Connection,
    argv: Sequence[str],
    chunks: AsyncIterable[bytes],
    *,
    root: bool,
    what: str,
) -> None:
    """Run ``argv`` feeding ``chunks`` to its standard input."""
    pipe = await _Pipe.start(connection, argv, root=root)
    try:
        async for chunk in chunks:
            await connection.in_thread(connection.executors.transfers, pipe.write, chunk)
        await connection.in_thread(connection.executors.transfers, pipe.end_input)
        while await connection.in_thread(connection.executors.transfers, pipe.read):
            pass
        await connection.in_thread(connection.executors.control, pipe.finish, what, "write")
    finally:
        await pipe.close()


class _Pipe(process_group.GroupChannel):
    """Raw bytes one way or the other."""

    @classmethod
    async def start(cls, connection: Connection, argv: Sequence[str], *, root: bool) -> _Pipe:
        channel = await connection.open_session()
        bulk.prepare(channel)
        pipe = cls(connection, channel, shlex.join(argv))
        line = process_group.wrap(connection, list(argv), root=root)
        try:
            await connection.in_thread(connection.executors.control, pipe._begin, line)
        except BaseException:
            connection.close_session(channel)
            raise
        return pipe

    def _begin(self, line: str) -> None:
        try:
            self.channel.exec_command(line)
            self.channel.settimeout(self.connection.timeouts.channel + 60)
            self.read_group_id()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self.connection.lost(exc, f"starting {self.command}") from exc
        if self.pgid is not None:
            self.channel.settimeout(None)
            return
        status = self.channel.recv_exit_status()
        stderr = self._stderr()
        sudo.check_sudo(self.connection, stderr)
        raise RemoteFileError(
            f"{self.command!r} did not start (exit status {status}): {stderr.strip()[-300:]}",
            server=self.connection.label,
        )

    def read(self) -> bytes:
        """Up to 1 MiB, as the receive buffer batches it; b'' at the end."""
        try:
            return self.channel.recv(CHUNK)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self.connection.lost(exc, f"running {self.command}") from exc

    def write(self, data: bytes) -> None:
        try:
            bulk.send_all(self.channel, data)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self.connection.lost(exc, f"running {self.command}") from exc

    def end_input(self) -> None:
        self.channel.shutdown_write()

    def _stderr(self) -> str:
        data = b""
        while self.channel.recv_stderr_ready():
            data += self.channel.recv_stderr(65536)
        return data.decode("utf-8", "replace")

    def finish(self, what: str, doing: str) -> None:
        while not self.channel.status_event.wait(0.1):
            if self.channel.closed:
                break
        status = self.channel.recv_exit_status() if self.channel.status_event.is_set() else -1
        if status == -1:
            raise self.connection.lost_channel(f"running {self.command}")
        self.ended = True
        if status != 0:
            stderr = self._stderr()
            sudo.check_sudo(self.connection, stderr)
            signal, status, stderr = process_group.signal_of(self.channel, status, stderr)
            ending = (
                f"was killed by signal {signal}" if signal else f"ended with exit status {status}"
            )
            raise CommandFailed(
                f"cannot {doing} {what}: {self.command!r} {ending}: {stderr.strip()[-300:]}",
                server=self.connection.label,
                exit_status=status,
                stderr=stderr,
                signal=signal,
            )

    async def close(self) -> None:
        if not self.ended and self.pgid is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(process_group.kill_group(self.connection, self.pgid))
        self.connection.close_session(self.channel)
