"""One operator at a time per cluster: the cluster lock.

Every job that changes servers (setup apply, import, sync with its fixes, and later a
switchover) runs inside :func:`cluster_lock`::

    async with cluster_lock(connections, job="Import into backup", log=ctx.log):
        ...

It takes, in this order:

1. **A local lock** for the cluster on this computer (a file under PMC's data folder, locked
   with ``flock``; on Windows a byte-range lock), so that the GUI, ``pmc sync daemon`` and a
   second ``pmc`` in a terminal see each other before connecting anywhere.
2. **A lock on each server the job changes**: a small root process on the server holds
   ``flock`` on ``/run/pmc/cluster.lock`` (the layout's ``pmc_run_dir``) for as long as PMC's
   channel to it stays open, with the holder written into the file (:class:`Holder`: OS user,
   desktop, PMC version, job, since when). PMC releases it at the end of the job; if PMC or its
   connection dies, the process ends with its SSH session (see
   :mod:`pmc.remote.session_guard`) and the server's kernel releases the lock — nothing has to
   guess whether a holder is still alive.

A second PMC, in the same process, another process or on another desktop, is refused at once
with :class:`ClusterBusy`, which names the holder. Read-only work (plans, diffs, status,
export) never takes the lock; the status view shows who holds it (:data:`PROBE_SCRIPT`,
:func:`pmc.probes.probe_lock`).
Once a server's lock is taken, what earlier PMC jobs left there is cleared and logged
(:func:`pmc.remote.leftovers.clear`).

Nested use is free: a job that holds the lock (e.g. ``pmc setup apply``, locked from before its
plan) and then calls code that locks the same servers (the executor) does not lock twice.

Each block entered by a job ends by recording that job in the audit log of every server it
held, before the lock is released (:func:`pmc.audit_log.recorded`).
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import hashlib
import os
import re
import shlex
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import paramiko

from pmc import __version__, audit_log, paths
from pmc.errors import PmcError
from pmc.remote import leftovers
from pmc.remote.connection import Connection

LOCK_NAME = "cluster.lock"
# How long a refused PMC waits for the holder's name to be written (a holder writes it just
# after it takes the lock), and how often it looks: the refusal names who, not "somebody".
HOLDER_WAIT = 2.0
HOLDER_POLL = 0.02
Log = Callable[[str], None]


class ClusterBusy(PmcError):
    """Another PMC job holds the cluster; nothing was changed."""


@dataclass(frozen=True)
class Holder:
    """Who holds a cluster: written into the lock files, named in every refusal."""

    user: str
    desktop: str
    version: str
    job: str
    since: float
    pid: int = 0  # the process on the desktop

    @classmethod
    def me(cls, job: str) -> Holder:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(user, socket.gethostname(), __version__, job, time.time(), os.getpid())

    def lines(self) -> list[str]:
        fields = {
            "user": self.user,
            "desktop": self.desktop,
            "version": self.version,
            "job": self.job,
            "since": f"{self.since:.0f}",
            "pid": str(self.pid),
        }
        return [f"{k}={' '.join(str(v).split())}" for k, v in fields.items()]

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        """The holder in a lock file's text; None when it names nobody."""
        found = dict(
            line.split("=", 1) for line in text.splitlines() if re.match(r"^[a-z_]+=", line)
        )
        if "user" not in found or "job" not in found:
            return None
        try:
            since = float(found.get("since", "0"))
            pid = int(found.get("pid", "0"))
        except ValueError:
            since, pid = 0.0, 0
        if not 0 < since < audit_log.LATEST_EPOCH:  # NaN too: a time that is not a date
            since = 0.0
        return cls(
            found["user"], found.get("desktop", "?"), found.get("version", "?"),
            found["job"], since, pid,
        )  # fmt: skip

    def __str__(self) -> str:
        when = "an unknown time"
        if self.since > 0:
            with contextlib.suppress(ValueError, OverflowError, OSError):
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return f"{self.user} on {self.desktop} (PMC {self.version}) runs {self.job!r} since {when}"


def _busy(cluster: str, holder: Holder | None, where: str) -> ClusterBusy:
    who = str(holder) if holder else "another PMC job (it did not say who)"
    ask = f", or ask {holder.user} on {holder.desktop}" if holder else ""
    return ClusterBusy(
        f"cluster {cluster} is in use: {who}; nothing was changed",
        where=where,
        hint=f"Wait until that job has ended{ask}, then try again",
    )


# ---- the local lock ----------------------------------------------------------------------

_WIN_LOCK_OFFSET = 1 << 20  # Windows locks are mandatory: lock a byte past the holder text


def local_lock_path(cluster: str) -> Path:
    """The lock file of ``cluster`` in PMC's data folder (one per cluster, whichever of its
    servers a job changes)."""
    digest = hashlib.sha256(cluster.encode()).hexdigest()[:12]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", cluster)[:40] or "cluster"
    return paths.data_dir() / "locks" / f"{safe}-{digest}.lock"


class LocalLock:
    """A non-blocking file lock on this computer, released by the OS when PMC ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self, holder: Holder) -> tuple[bool, Holder | None]:
        """Take it and write ``holder``: ``(True, None)``; when it is taken already,
        ``(False, who holds it)`` (None if the holder did not say)."""
        paths.ensure_dir(self.path.parent)
        # errors="replace": a holder's lines read while written may end inside a letter
        handle = open(self.path, "a+", encoding="utf-8", errors="replace")  # noqa: SIM115
        try:
            deadline = time.monotonic() + HOLDER_WAIT
            while not _try_lock(handle):
                # A holder writes its name just after taking the lock and empties the file
                # just before letting it go: refused in between, look again (or take it).
                handle.seek(0)
                other = Holder.parse(handle.read(4096))
                if other is not None or time.monotonic() >= deadline:
                    handle.close()
                    return False, other
                time.sleep(HOLDER_POLL)
            handle.seek(0)
            handle.truncate()
            handle.write("\n".join(holder.lines()) + "\n")
            handle.flush()
        except BaseException:
            handle.close()
            raise
        self._file = handle
        return True, None

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
            handle.flush()
        handle.close()  # closing the file releases the lock


if sys.platform == "win32":
    import msvcrt

    def _try_lock(handle: IO[str]) -> bool:
        handle.seek(_WIN_LOCK_OFFSET)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(handle: IO[str]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


# ---- the lock on a server ----------------------------------------------------------------

# Runs as root. "busy" + the holder's text when another process holds the lock; else the
# holder is written, "locked", the text an earlier holder left behind ("was: …" lines: it
# ended without releasing), "ready"; then it waits for "release" or the end of its input.
HOLD_SCRIPT = r"""
d=$1; shift
f="$d/cluster.lock"
mkdir -p -- "$d" && chmod 755 -- "$d" || exit 70
exec 9<>"$f" || exit 70
chmod 644 -- "$f"
n=0
until flock -n -x 9; do  # refused: once the holder's text is whole (or 2 s on), name it
  n=$((n + 1))
  if grep -q '^server_pid=' -- "$f" || [ "$n" -ge 40 ]; then echo busy; cat -- "$f"; exit 75; fi
  sleep 0.05
done
old=$(cat -- "$f")
{ printf '%s\n' "$@"; echo "server_pid=$$"; } > "$f"
echo locked
[ -n "$old" ] && printf '%s\n' "$old" | sed 's/^/was: /'
echo ready
while IFS= read -r line; do
  if [ "$line" = release ]; then : > "$f"; exit 0; fi
done
"""

# Read only: the holder's text when its holding process still runs.
PROBE_SCRIPT = r"""
f="$1/cluster.lock"
[ -s "$f" ] || exit 0
pid=$(sed -n 's/^server_pid=//p' "$f")
[ -n "$pid" ] && grep -qa pmc-lock "/proc/$pid/cmdline" 2>/dev/null && cat -- "$f"
exit 0
"""


def lock_dir(connection: Connection) -> str:
    return connection.server.layout.pmc_run_dir


class ServerLock:
    """The held lock on one server: a channel to the holding process."""

    def __init__(self, connection: Connection, channel: paramiko.Channel, holder: Holder) -> None:
        self.connection = connection
        self.channel = channel
        self.holder = holder

    @classmethod
    async def take(
        cls, connection: Connection, holder: Holder
    ) -> tuple[ServerLock | None, Holder | None, Holder | None]:
        """``(lock, None, left)`` when taken (``left``: who had left it without releasing),
        ``(None, other, None)`` when ``other`` holds it."""
        argv = ["bash", "-c", HOLD_SCRIPT, "pmc-lock", lock_dir(connection), *holder.lines()]
        channel = await connection.open_session(slot=False)
        try:
            lines = await connection.in_thread(
                connection.executors.control, _start, channel, shlex.join(connection.as_root(argv))
            )
        except BaseException:
            channel.close()
            raise
        if lines and lines[0] == "busy":
            channel.close()
            return None, Holder.parse("\n".join(lines[1:])), None
        if not lines or lines[0] != "locked" or lines[-1] != "ready":
            channel.close()
            said = " ".join(lines)[-300:] or "no answer"
            raise ClusterBusy(
                f"the cluster lock ({lock_dir(connection)}/{LOCK_NAME}) cannot be taken: {said}",
                where=connection.label,
                hint="PMC needs flock (util-linux) and root rights on the server",
            )
        left = [line.removeprefix("was: ") for line in lines[1:-1] if line.startswith("was: ")]
        lock = cls(connection, channel, holder)
        return lock, None, Holder.parse("\n".join(left)) if left else None

    async def release(self) -> None:
        def go() -> None:
            try:
                with contextlib.suppress(Exception):
                    self.channel.sendall(b"release\n")
                    self.channel.shutdown_write()
                    self.channel.status_event.wait(5)
            finally:
                self.channel.close()

        with contextlib.suppress(Exception):
            await self.connection.in_thread(self.connection.executors.control, go)


def _start(channel: paramiko.Channel, line: str) -> list[str]:
    """Run the holding script; its lines up to "ready" (or its end)."""
    channel.settimeout(30)
    channel.exec_command(line)
    raw = b""
    while not raw.endswith(b"ready\n"):
        try:
            chunk = channel.recv(4096)
        except TimeoutError:
            break
        if not chunk:
            break
        raw += chunk
    if not raw.endswith(b"ready\n"):
        with contextlib.suppress(Exception):
            raw += channel.recv_stderr(4096)
    return raw.decode("utf-8", "replace").splitlines()


# ---- the whole lock ----------------------------------------------------------------------

# The server locks the current job holds, by connection (by identity: a job uses one
# connection per server; another job, even of this process, is another asyncio context).
_HELD: contextvars.ContextVar[dict[int, ServerLock]] = contextvars.ContextVar("pmc_cluster_locks")


# The clusters whose lock on this computer the current job holds.
_HELD_HERE: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("pmc_local_locks")


def _held() -> dict[int, ServerLock]:
    return _HELD.get({})


def _key(connection: Connection) -> int:
    return id(connection)


async def hold_again(connections: Iterable[Connection], log: Log | None = None) -> None:
    """After a connection dropped in the middle of a job (its holding process ended with the
    old SSH session, and the server released the lock): take the lock again before any more
    work, e.g. a rollback. :class:`ClusterBusy` if another job took it meanwhile; a server
    that cannot be reached is only logged (the work that follows says what it could not do)."""
    for connection in connections:
        lock = _held().get(_key(connection))
        if lock is None or not lock.channel.closed:
            continue
        try:
            again, other, _left = await ServerLock.take(connection, lock.holder)
        except ClusterBusy:
            raise
        except PmcError as exc:
            if log is not None:
                log(f"{connection.server.name}: the cluster lock cannot be taken again: {exc}")
            continue
        if again is None:
            raise _busy(connection.cluster or connection.server.name, other, connection.label)
        lock.channel = again.channel  # released at the end of the job like the first one
        if log is not None:
            log(f"{connection.server.name}: the cluster lock was taken again after the dropped "
                "connection")  # fmt: skip


@contextlib.asynccontextmanager
async def cluster_lock(
    connections: Iterable[Connection], *, job: str, log: Log | None = None
) -> AsyncIterator[Holder]:
    """Hold the cluster of ``connections`` for ``job`` (see the module docs); raises
    :class:`ClusterBusy` naming the holder. ``log`` hears what was cleared."""
    wanted = sorted({_key(c): c for c in connections}.values(), key=lambda c: c.label)
    missing = [c for c in wanted if _key(c) not in _held()]
    holder = Holder.me(job)
    if not missing:
        async with audit_log.recorded(wanted, holder, log=log):
            yield holder
        return
    say = log or (lambda _text: None)
    cluster = missing[0].cluster or missing[0].server.name
    local = LocalLock(local_lock_path(cluster))
    if cluster not in _HELD_HERE.get(frozenset()):
        taken_here, other = local.acquire(holder)
        if not taken_here:
            raise _busy(cluster, other, "this computer")
    here = _HELD_HERE.set(_HELD_HERE.get(frozenset()) | {cluster})
    taken: list[ServerLock] = []
    token: contextvars.Token[dict[int, ServerLock]] | None = None
    try:
        for connection in missing:
            lock, other, left = await ServerLock.take(connection, holder)
            if lock is None:
                raise _busy(cluster, other, connection.label)
            taken.append(lock)
            if left is not None:
                say(
                    f"{connection.server.name}: the cluster lock left by {left} was released "
                    "when its PMC ended; taken over"
                )
            for line in await leftovers.clear(connection):
                say(f"{connection.server.name}: {line}")
        token = _HELD.set({**_held(), **{_key(lock.connection): lock for lock in taken}})
        async with audit_log.recorded(wanted, holder, log=say):
            yield holder
    finally:
        if token is not None:
            _HELD.reset(token)
        _HELD_HERE.reset(here)
        for lock in reversed(taken):
            await lock.release()
        local.release()  # (a no-op when an outer block holds it)
