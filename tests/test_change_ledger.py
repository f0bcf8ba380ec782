"""The change ledger's entries: a written file undone by its backup (or removed when it was
new), a command recorded before it runs, everything undone newest first."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from pmc.change_ledger import ChangeLedger, Undo, UndoKind, undo_change
from pmc.remote.connection import Connection


def test_changes_are_undone_newest_first_each_by_its_kind() -> None:
    ledger = ChangeLedger()
    assert not ledger
    ledger.reverse_with("main", ("sh", "-c", "undo-it"), timeout=300.0)
    ledger.wrote("main", "/etc/a.conf", "/etc/a.conf.pmc-backup-1")
    ledger.wrote("main", "/etc/b.conf", None)
    ledger.creates("backup", "/root/.ssh/authorized_keys")
    ledger.reload("backup", "/home/op/backups/backup-before-import.pmcbundle")
    assert ledger
    assert ledger.newest_first() == [
        Undo("backup", UndoKind.RELOAD, "/home/op/backups/backup-before-import.pmcbundle"),
        Undo("backup", UndoKind.REMOVE, "/root/.ssh/authorized_keys"),
        Undo("main", UndoKind.REMOVE, "/etc/b.conf"),
        Undo("main", UndoKind.RESTORE, "/etc/a.conf", "/etc/a.conf.pmc-backup-1"),
        Undo("main", UndoKind.RUN, argv=("sh", "-c", "undo-it"), timeout=300.0),
    ]


def test_a_reload_is_left_to_the_job_that_recorded_it() -> None:
    """undo_change never touches a server for a RELOAD: only the import can reload tables."""
    undo = Undo("backup", UndoKind.RELOAD, "/home/op/b.pmcbundle")
    no_server = cast(Connection, cast(Any, object()))
    with pytest.raises(ValueError, match="undone by the job that recorded it"):
        asyncio.run(undo_change(no_server, undo))
