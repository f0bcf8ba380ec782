"""What the running job changes on each server, gathered while it runs, for the servers' own
audit logs (:mod:`pmc.audit_log`).

Code that changes a server notes it here: :func:`note_file` for a file (every write of
:func:`pmc.remote.files.write_atomic` is noted), :func:`note` for anything else (the tables
and data folders a sync changed, the inventory's active server after a switchover). When the
job's outermost cluster lock block ends, :mod:`pmc.audit_log` writes each server's notes
into that server's log. Outside such a block (:func:`gathering`) nothing is noted.

Pure data, no I/O. Never a secret: a file is named by its path and the SHA-256 of its bytes.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileChange:
    """A file changed on a server: SHA-256 of its bytes before and after (None: absent)."""

    path: str
    before: str | None
    after: str | None

    def as_json(self) -> dict[str, str | None]:
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass
class ServerNotes:
    """What the job noted about one server."""

    files: list[FileChange] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)
    summary: str = ""

    @property
    def empty(self) -> bool:
        return not self.files and not self.facts and not self.summary


@dataclass
class Trail:
    """The notes of one job, by server name."""

    servers: dict[str, ServerNotes] = field(default_factory=dict)

    def of(self, server: str) -> ServerNotes:
        return self.servers.setdefault(server, ServerNotes())

    def take(self, server: str) -> ServerNotes:
        """The server's notes, which are then no longer here (written once)."""
        return self.servers.pop(server, ServerNotes())


_TRAIL: contextvars.ContextVar[Trail | None] = contextvars.ContextVar("pmc_trail", default=None)


def current() -> Trail | None:
    return _TRAIL.get()


@contextlib.contextmanager
def gathering() -> Iterator[Trail]:
    """A new trail, where notes go from here to the end of the block (in the tasks and
    threads started inside it too)."""
    trail = Trail()
    token = _TRAIL.set(trail)
    try:
        yield trail
    finally:
        _TRAIL.reset(token)


def sha256(data: str | bytes | None) -> str | None:
    """The SHA-256 of ``data`` (text as UTF-8) in hex; None for None (an absent file)."""
    if data is None:
        return None
    raw = data.encode("utf-8", errors="surrogateescape") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def note_file(server: str, path: str, before: str | None, after: str | None) -> None:
    """``path`` on ``server`` was changed (hashes of its bytes; None: absent)."""
    trail = _TRAIL.get()
    if trail is not None:
        trail.of(server).files.append(FileChange(path, before, after))


def note(server: str, key: str, value: object) -> None:
    """A fact about the change on ``server`` (JSON-ready data: text, numbers, lists, dicts)."""
    trail = _TRAIL.get()
    if trail is not None:
        trail.of(server).facts[key] = value


def summarize(server: str, text: str) -> None:
    """What the job did on ``server``, in a sentence (the entry's message when it succeeds)."""
    trail = _TRAIL.get()
    if trail is not None:
        trail.of(server).summary = text
