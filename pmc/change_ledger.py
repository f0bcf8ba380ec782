"""The change ledger: what a job changed on a server, recorded as it goes, undone newest first.

The setup executor (:mod:`pmc.setup.apply`) and the import (:mod:`pmc.bundle.importer`) each
keep one. A file written atomically is undone by putting its backup back (or removing it if it
was new), a command by the command that reverses it — recorded before it runs, so a command
cut off halfway is undone too — and an import's table load by loading the tables of its
automatic backup again (that one the import does itself: it needs the bundle code, which
stands above this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pmc.remote import commands, files
from pmc.remote.connection import Connection

UNDO_TIMEOUT = 120.0  # seconds for one undo command (the import's folder undo gives its own)


class UndoKind(StrEnum):
    """How a change is undone on rollback."""

    RESTORE = "restore"  # put the backup of a file back (and then delete the backup)
    REMOVE = "remove"  # remove a file the change created
    RUN = "run"  # run the command that reverses it
    RELOAD = "reload"  # load the tables again from a backup bundle (an import's database)


@dataclass(frozen=True)
class Undo:
    server: str
    kind: UndoKind
    path: str = ""  # the file (RESTORE, REMOVE); the backup bundle on this computer (RELOAD)
    backup: str | None = None  # the file's backup (RESTORE)
    argv: tuple[str, ...] = ()  # the command (RUN)
    timeout: float | None = UNDO_TIMEOUT  # of the command (RUN)


class ChangeLedger:
    """The undo entries of one job, in the order its changes were made."""

    def __init__(self) -> None:
        self.entries: list[Undo] = []

    def __bool__(self) -> bool:
        return bool(self.entries)

    def wrote(self, server: str, path: str, backup: str | None) -> None:
        """``path`` was written atomically, its previous content kept at ``backup`` (None: the
        file is new)."""
        if backup:
            self.entries.append(Undo(server, UndoKind.RESTORE, path, backup))
        else:
            self.entries.append(Undo(server, UndoKind.REMOVE, path))

    def creates(self, server: str, path: str) -> None:
        """A command about to run creates ``path``."""
        self.entries.append(Undo(server, UndoKind.REMOVE, path))

    def reverse_with(
        self, server: str, argv: tuple[str, ...], *, timeout: float | None = UNDO_TIMEOUT
    ) -> None:
        """A change about to be made is reversed by running ``argv`` (as root)."""
        self.entries.append(Undo(server, UndoKind.RUN, argv=argv, timeout=timeout))

    def reload(self, server: str, bundle: str) -> None:
        """The server's tables were replaced; ``bundle`` holds them as they were."""
        self.entries.append(Undo(server, UndoKind.RELOAD, bundle))

    def newest_first(self) -> list[Undo]:
        return list(reversed(self.entries))


async def undo_change(connection: Connection, undo: Undo) -> str:
    """Undo one file or command change on ``connection``'s server; returns what was done
    ("restored /etc/…"). A RELOAD is the import's own (:mod:`pmc.bundle.importer`)."""
    if undo.kind is UndoKind.RESTORE:
        assert undo.backup
        await files.restore_backup(connection, undo.path, undo.backup)
        await commands.run(connection, ["rm", "-f", "--", undo.backup], root=True, check=True)
        return f"restored {undo.path}"
    if undo.kind is UndoKind.REMOVE:
        await commands.run(connection, ["rm", "-f", "--", undo.path], root=True, check=True)
        return f"removed {undo.path}"
    if undo.kind is UndoKind.RUN:
        await commands.run(connection, list(undo.argv), root=True, check=True, timeout=undo.timeout)
        return f"ran {' '.join(undo.argv)}"
    raise ValueError(f"{undo.kind} is undone by the job that recorded it")
