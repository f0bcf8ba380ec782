"""What an import's automatic backup holds, what a rollback that did not finish tells the
operator when that backup was taken without the data folders, and that an import that failed
before its commit says nothing live was changed (once)."""

from __future__ import annotations

from pathlib import Path

from pmc.bundle.import_backup import backup_parts
from pmc.bundle.import_rollback import rollback_unfinished, unchanged
from pmc.errors import PmcError
from pmc.inventory import Role, Server
from pmc.remote.connection import Connection
from pmc.remote.host_keys import KnownHosts


def test_the_backup_holds_what_the_import_replaces_and_the_data_only_when_asked() -> None:
    every = ("database", "config", "data")
    assert backup_parts(every) == ["database", "config", "data", "epg"]
    assert backup_parts(every, without_data=True) == ["database", "config", "epg"]
    assert backup_parts(("data",), without_data=True) == ["config"]


def test_an_unfinished_rollback_says_where_the_data_folders_left_out_of_the_backup_are(
    tmp_path: Path,
) -> None:
    server = Server("backup", "127.0.0.2", "127.0.0.3", Role.BACKUP)
    connection = Connection(server, cluster="lab", known_hosts=KnownHosts(tmp_path / "kh"))
    dirs = ["/opt/playout/data/carousel", "/opt/playout/data/av"]
    backup = Path("/b/backup-before-import.pmcbundle")
    full = rollback_unfinished(connection, ["cut"], backup, "ab12", dirs)
    assert "pmc-old" not in str(full.hint)  # the backup brings the folders back
    lean = rollback_unfinished(connection, ["cut"], backup, "ab12", dirs, without_data=True)
    hint = str(lean.hint)
    assert f"pmc import {backup}" in hint
    assert "without the data folders" in hint
    assert "/opt/playout/data/carousel.pmc-old-ab12, /opt/playout/data/av.pmc-old-ab12" in hint


def test_an_import_that_failed_before_its_commit_says_nothing_live_was_changed_once() -> None:
    lost = PmcError("the SSH connection was lost", hint="Check that the server is up")
    said = unchanged(lost)
    assert said is lost and lost.hint is not None
    assert lost.hint.startswith("Check that the server is up. Nothing live was changed")
    refused = PmcError("the bundle was altered", hint="Nothing was changed on any server.")
    unchanged(refused)
    assert refused.hint == "Nothing was changed on any server."  # said once, not twice
    plain = PmcError("cancelled")
    unchanged(plain)
    assert plain.hint is not None and plain.hint.startswith("Nothing live was changed")
