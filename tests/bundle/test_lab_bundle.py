"""Bundles against the rehearsal lab: export main, import into backup (real servers, services)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import paramiko
import psycopg
import pytest

from pmc.bundle import import_db, parts
from pmc.bundle.archive_reader import BundleReader
from pmc.bundle.errors import BundleOperationFailed
from pmc.bundle.export import ExportOptions, export_bundle
from pmc.bundle.importer import ImportOptions, ImportResult, import_bundle
from pmc.errors import PmcError
from pmc.inventory import AuthMethod, Role, Server
from pmc.lab import LabCluster, LabServer
from pmc.lab.playout import CONFIG_TABLES, EPG_TABLES
from pmc.remote.connection import Connection
from pmc.remote.host_keys import KnownHosts, TrustFingerprints, fingerprint

pytestmark = [pytest.mark.lab, pytest.mark.timeout(600)]
T = TypeVar("T")


class _Passwords:
    def __init__(self, lab: LabCluster) -> None:
        self.lab = lab

    def ssh_password(self, cluster: str, server: str) -> str | None:
        return self.lab.servers[server].root_password

    def key_passphrase(self, cluster: str, server: str) -> str | None:
        return None


def lab_connection(lab: LabCluster, name: str, known_hosts: Path) -> Connection:
    srv = lab.servers[name]
    kind, blob = srv.host_key().split()[:2]
    fp = fingerprint(paramiko.PKey.from_type_string(kind, base64.b64decode(blob)))
    server = Server(
        name=name,
        management_address=srv.management_address,
        redundancy_address=srv.redundancy_address,
        role=Role.MAIN if name == "main" else Role.BACKUP,
        auth=AuthMethod.PASSWORD,
    )
    return Connection(
        server,
        cluster="lab",
        known_hosts=KnownHosts(known_hosts),
        credentials=_Passwords(lab),
        trust=TrustFingerprints([fp]),
    )


def in_lab(lab: LabCluster, work: Callable[[], Awaitable[T]]) -> T:
    return lab.call_in_operator_namespace(lambda: asyncio.run(work()))  # type: ignore[no-any-return]


def digest(dsn: str, tables: tuple[str, ...]) -> dict[str, str]:
    out = {}
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for table in tables:
            h = hashlib.sha256()
            with cur.copy(f"COPY (SELECT * FROM {table} ORDER BY 1, 2) TO STDOUT") as cp:
                for block in cp:
                    h.update(block)
            out[table] = h.hexdigest()
    return out


def _roundtrip(lab: LabCluster, tmp: Path, *, epg: bool) -> ImportResult:
    bundle = tmp / f"main-{'epg' if epg else 'config'}.pmcbundle"

    async def go() -> ImportResult:
        main = lab_connection(lab, "main", tmp / "known_hosts")
        backup = lab_connection(lab, "backup", tmp / "known_hosts")
        try:
            await export_bundle(main, bundle, ExportOptions(epg=epg))
            return await import_bundle(
                backup, bundle, ImportOptions(backup_dir=tmp / "backups", addresses="keep")
            )
        finally:
            await main.close()
            await backup.close()

    return in_lab(lab, go)


def test_export_main_import_backup_config_tables_match(fresh_lab: Any, tmp_path: Path) -> None:
    lab: LabCluster = fresh_lab
    main, backup = lab.servers["main"], lab.servers["backup"]
    epg_before = digest(backup.postgres_dsn, EPG_TABLES)
    try:
        result = _roundtrip(lab, tmp_path, epg=False)
        assert digest(main.postgres_dsn, CONFIG_TABLES) == digest(
            backup.postgres_dsn, CONFIG_TABLES
        )
        assert digest(backup.postgres_dsn, EPG_TABLES) == epg_before or result.notes
        assert result.backup is not None and result.backup.exists()
        assert "skipped" in result.config_actions["spoolers.json"]
        assert backup.systemctl("is-active", "playout-api").stdout.strip() == "active"
        for key in ("carousel", "av", "ts"):
            ours = sorted(p.name for p in main.path(f"/opt/playout/data/{key}").rglob("*"))
            theirs = sorted(p.name for p in backup.path(f"/opt/playout/data/{key}").rglob("*"))
            assert ours == theirs
    finally:
        lab.reset()


def test_with_epg_the_epg_matches_too(fresh_lab: Any, tmp_path: Path) -> None:
    lab: LabCluster = fresh_lab
    main, backup = lab.servers["main"], lab.servers["backup"]
    try:
        _roundtrip(lab, tmp_path, epg=True)
        tables = CONFIG_TABLES + EPG_TABLES
        assert digest(main.postgres_dsn, tables) == digest(backup.postgres_dsn, tables)
    finally:
        lab.reset()


def tree(root: Path) -> dict[str, tuple[int, str]]:
    """Every file and folder under ``root``: mode and SHA-256 (folders: mode only)."""
    out: dict[str, tuple[int, str]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        body = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        out[str(path.relative_to(root))] = (st.st_mode, body)
    return out


def sabotage_restart(lab: LabCluster, server: str, unit: str) -> None:
    """The next `systemctl restart UNIT` on ``server`` fails as a unit that will not start
    does (a lab reset rewrites the systemctl stand-in)."""
    lab.servers[server].fail_next_restart(
        unit,
        f"Job for {unit}.service failed because the control process exited with error code.",
    )


def test_import_restarts_what_it_affects_and_each_is_active(fresh_lab: Any, tmp_path: Path) -> None:
    lab: LabCluster = fresh_lab
    try:
        result = _roundtrip(lab, tmp_path, epg=False)
        assert result.restarted == [
            "playout-api.service", "playout-scheduler", "eit-update", "playout-admin",
        ]  # fmt: skip
        for unit in result.restarted:
            state = lab.servers["backup"].systemctl("is-active", unit).stdout.strip()
            assert state == "active", unit
        assert "restarted and active: playout-api.service, playout-scheduler" in str(result)
    finally:
        lab.reset()


def test_import_restarts_its_services_together(fresh_lab: Any, tmp_path: Path) -> None:
    """The restart of playout-api goes on only once playout-scheduler's restart has begun
    (bounded wait in the systemctl stand-in): restarts one after the other would fail."""
    lab: LabCluster = fresh_lab
    srv = lab.servers["backup"]
    stand_in = srv.path("/usr/local/sbin/systemctl")
    stand_in.rename(stand_in.with_name("systemctl.real"))
    stand_in.write_text(
        "#!/bin/sh\n"
        'case " $* " in\n'
        '  *" restart "*playout-scheduler*) touch /tmp/pmc-scheduler-restarting;;\n'
        '  *" restart "*playout-api*) n=0; until [ -e /tmp/pmc-scheduler-restarting ]; do\n'
        "    n=$((n + 1)); [ $n -le 600 ] || { echo 'playout-scheduler did not restart "
        "alongside' >&2; exit 1; }; sleep 0.1; done;;\n"
        "esac\n"
        'exec /usr/local/sbin/systemctl.real "$@"\n'
    )
    stand_in.chmod(0o755)
    try:
        result = _roundtrip(lab, tmp_path, epg=False)
        assert result.restarted == [
            "playout-api.service", "playout-scheduler", "eit-update", "playout-admin",
        ]  # fmt: skip
        assert srv.path("/tmp/pmc-scheduler-restarting").exists()
    finally:
        lab.reset()


BACKUP_AFTER_STAGING = r"""#!/bin/sh
# The import's backup (tar -cf of each data folder) starts reading only once one of the
# import's staging tars (tar -x into FOLDER.pmc-stage-ID) has ended: both run side by side.
case "$*" in
  *pmc-stage-*) /usr/bin/tar "$@"; rc=$?; touch /tmp/pmc-staged; exit $rc;;
  *" -cf "*) n=0
    until [ -e /tmp/pmc-staged ]; do
      n=$((n + 1)); [ $n -le 300 ] || break; sleep 0.1
    done
    if [ -e /tmp/pmc-staged ]; then echo after staging; else echo alone; fi > /tmp/pmc-backup-tar
    THEN;;
esac
exec /usr/bin/tar "$@"
"""


def backup_tar_after_staging(lab: LabCluster, then: str) -> LabServer:
    """backup's tar as :data:`BACKUP_AFTER_STAGING`, the backup's tar then doing ``then``."""
    srv = lab.servers["backup"]
    wrapper = srv.path("/usr/local/sbin/tar")
    wrapper.write_text(BACKUP_AFTER_STAGING.replace("THEN", then))
    wrapper.chmod(0o755)
    return srv


def test_the_backup_is_taken_while_the_bundle_is_staged_and_holds_the_target_as_it_was(
    fresh_lab: Any, tmp_path: Path
) -> None:
    lab: LabCluster = fresh_lab
    srv = backup_tar_after_staging(lab, "true")
    srv.path("/opt/playout/data/carousel/only-on-backup.html").write_text("backup\n")
    try:
        result = _roundtrip(lab, tmp_path, epg=False)
        assert srv.path("/tmp/pmc-backup-tar").read_text() == "after staging\n"
        assert not srv.path("/opt/playout/data/carousel/only-on-backup.html").exists()
        assert result.backup is not None
        with result.backup.open("rb") as raw:
            reader = BundleReader(raw, where=str(result.backup))
            held = {m.name: s.read(1 << 20) for m, s in reader.members() if not m.is_dir}
        assert held["data/carousel/only-on-backup.html"] == b"backup\n"
    finally:
        srv.path("/usr/local/sbin/tar").unlink()
        lab.reset()


SYNCS_SEEN = r"""#!/bin/sh
# Each sync on backup, and what its data folder held at that moment (one line each).
echo "sync $* | $(ls /opt/playout/data | tr '\n' ' ')" >> /tmp/pmc-syncs
exec /usr/bin/sync "$@"
"""


def test_the_imported_files_are_on_disk_before_they_replace_the_old_ones(
    fresh_lab: Any, tmp_path: Path
) -> None:
    """A power cut after an import must not leave empty files and no old copy: each staged
    folder is flushed while the old one is still in place, and the switch is flushed while the
    old folders still exist (they go only at the end)."""
    lab: LabCluster = fresh_lab
    srv = lab.servers["backup"]
    wrapper = srv.path("/usr/local/sbin/sync")
    wrapper.write_text(SYNCS_SEEN)
    wrapper.chmod(0o755)
    try:
        _roundtrip(lab, tmp_path, epg=False)
        calls = [
            (call.strip(), held.split())
            for call, _, held in (
                line.partition(" | ")
                for line in srv.path("/tmp/pmc-syncs").read_text().splitlines()
            )
        ]
        for key in ("carousel", "av", "ts"):
            folder = f"/opt/playout/data/{key}"
            staged = [
                held for call, held in calls
                if call.startswith(f"sync -f -- {folder}.pmc-stage-")
            ]  # fmt: skip
            assert len(staged) == 1, calls
            assert key in staged[0] and not any(".pmc-old-" in n for n in staged[0]), calls
            switched = [held for call, held in calls if call == f"sync -f -- {folder}"]
            assert switched, calls
            assert any(n.startswith(f"{key}.pmc-old-") for n in switched[0]), calls
            assert calls.index((f"sync -f -- {folder}", switched[0])) > calls.index(
                next(c for c in calls if c[0].startswith(f"sync -f -- {folder}.pmc-stage-"))
            )
        assert not [p for p in srv.path("/opt/playout/data").iterdir() if ".pmc-" in p.name]
    finally:
        wrapper.unlink()
        lab.reset()


SLOW_STAGING = r"""#!/bin/sh
# The import's staging tars start 3 s late: a big bundle still arriving.
case "$*" in *pmc-stage-*) sleep 3;; esac
exec /usr/bin/tar "$@"
"""


def test_a_big_staging_is_flushed_while_it_arrives(
    fresh_lab: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big import's staged folders are flushed each second while they arrive, so the disk
    takes them as they come and the switch's own flush finds little left."""
    lab: LabCluster = fresh_lab
    monkeypatch.setattr(parts, "MIN_TOTAL", 1)  # the lab's few KB count as a big bundle
    srv = lab.servers["backup"]
    wrappers = {"sync": SYNCS_SEEN, "tar": SLOW_STAGING}
    for name, text in wrappers.items():
        srv.path(f"/usr/local/sbin/{name}").write_text(text)
        srv.path(f"/usr/local/sbin/{name}").chmod(0o755)
    try:
        _roundtrip(lab, tmp_path, epg=False)
        calls = [
            line.partition(" | ")[0] for line in srv.path("/tmp/pmc-syncs").read_text().splitlines()
        ]
        staged = [c.split()[3:] for c in calls if c.startswith("sync -f -- ") and "pmc-stage" in c]
        while_arriving = [folders for folders in staged if len(folders) == 3]
        assert len(while_arriving) >= 2, calls
        assert sorted(f.split("/")[-1].split(".")[0] for f in while_arriving[0]) == [
            "av", "carousel", "ts",
        ]  # fmt: skip
        for _ in range(100):  # the loop ends with its channel, closed when staging ended
            if "pmc-flush" not in srv.run(["ps", "-eo", "args="]).stdout:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the flush loop runs on after the import")
    finally:
        for name in wrappers:
            srv.path(f"/usr/local/sbin/{name}").unlink()
        lab.reset()


def test_a_backup_that_fails_while_the_bundle_is_staged_leaves_the_target_unchanged(
    fresh_lab: Any, tmp_path: Path
) -> None:
    lab: LabCluster = fresh_lab
    srv = backup_tar_after_staging(lab, "echo 'tar: cannot read the folder' >&2; exit 2")
    tables = CONFIG_TABLES + EPG_TABLES
    data_before = tree(srv.path("/opt/playout/data"))
    config_before = tree(srv.path("/opt/playout/api/config"))
    db_before = digest(srv.postgres_dsn, tables)
    try:
        with pytest.raises(PmcError):
            _roundtrip(lab, tmp_path, epg=False)
        assert srv.path("/tmp/pmc-backup-tar").read_text() == "after staging\n"
        assert tree(srv.path("/opt/playout/data")) == data_before  # no staging folder left
        assert tree(srv.path("/opt/playout/api/config")) == config_before
        assert digest(srv.postgres_dsn, tables) == db_before
        assert not list((tmp_path / "backups").glob("*.pmcbundle"))
    finally:
        srv.path("/usr/local/sbin/tar").unlink()
        lab.reset()


SLOW_TAR = r"""#!/bin/sh
# The staging tars of an import start only once its database transaction has waited idle
# for 3 s (three times the idle limit the test sets), or it was ended: a slow link.
case "$*" in *pmc-stage-*)
  seen=; n=0
  while [ $n -lt 600 ]; do
    age=$(psql -X -At -U postgres -d playout -c "SELECT coalesce(max(extract(epoch FROM
      now() - xact_start))::int, -1) FROM pg_stat_activity WHERE datname = 'playout' AND
      state = 'idle in transaction' AND (query LIKE 'COPY \"pmc_stage_%' OR query = 'SELECT 1')")
    if [ "$age" -ge 3 ]; then echo waited > /tmp/pmc-slow-tar; break; fi
    if [ "$age" -lt 0 ] && [ -n "$seen" ]; then echo ended > /tmp/pmc-slow-tar; break; fi
    [ "$age" -ge 0 ] && seen=1
    n=$((n + 1)); sleep 0.1
  done;;
esac
exec /usr/bin/tar "$@"
"""


def test_a_slow_link_does_not_end_the_import_transaction(
    fresh_lab: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data folders take longer to arrive than PostgreSQL lets a transaction wait idle
    (1 s here, 300 s in PMC's sessions): the load's keep-alives hold it, the import commits."""
    lab: LabCluster = fresh_lab
    monkeypatch.setattr(import_db, "SESSION_LIMITS", "-c idle_in_transaction_session_timeout=1000")
    monkeypatch.setattr(import_db, "KEEP_ALIVE", 0.2)
    srv = lab.servers["backup"]
    slow = srv.path("/usr/local/sbin/tar")
    slow.write_text(SLOW_TAR)
    slow.chmod(0o755)
    try:
        result = _roundtrip(lab, tmp_path, epg=False)
        assert srv.path("/tmp/pmc-slow-tar").read_text() == "waited\n"
        assert result.rows and all(n > 0 for n in result.rows.values())
    finally:
        slow.unlink()
        lab.reset()


@pytest.mark.parametrize("without_data", [False, True], ids=["full-backup", "backup-without-data"])
def test_failure_after_the_commit_restores_the_target_byte_for_byte(
    fresh_lab: Any, tmp_path: Path, without_data: bool
) -> None:
    """playout-scheduler will not restart after the import committed (tables loaded, folders
    switched, config files written): the target is reloaded from the automatic backup. With
    the data folders left out of that backup, they come back from the copy kept aside on
    the server, the tables and config files from the backup, as fully."""
    lab: LabCluster = fresh_lab
    main, backup = lab.servers["main"], lab.servers["backup"]
    bundle = tmp_path / "main.pmcbundle"
    tables = CONFIG_TABLES + EPG_TABLES
    try:
        with psycopg.connect(main.postgres_dsn, autocommit=True) as conn:
            conn.execute("UPDATE networks SET name = name || ' (main)'")
        main.path("/opt/playout/data/carousel/only-on-main.html").write_text("main\n")
        db_before = digest(backup.postgres_dsn, tables)
        data_before = tree(backup.path("/opt/playout/data"))
        config_before = tree(backup.path("/opt/playout/api/config"))
        assert db_before != digest(main.postgres_dsn, tables)
        sabotage_restart(lab, "backup", "playout-scheduler")

        async def go() -> str:
            src = lab_connection(lab, "main", tmp_path / "known_hosts")
            dst = lab_connection(lab, "backup", tmp_path / "known_hosts")
            try:
                await export_bundle(src, bundle, ExportOptions())
                try:
                    options = ImportOptions(
                        backup_dir=tmp_path / "b", addresses="adapt",
                        backup_without_data=without_data,
                    )  # fmt: skip
                    await import_bundle(dst, bundle, options)
                except BundleOperationFailed as exc:
                    return str(exc)
                raise AssertionError("the import did not fail")
            finally:
                await src.close()
                await dst.close()

        message = in_lab(lab, go)
        assert "rolled back to the backup" in message and "playout-scheduler" in message
        assert not backup.path("/tmp/pmc-sabotage").exists()  # the sabotage did fire
        assert digest(backup.postgres_dsn, tables) == db_before
        assert tree(backup.path("/opt/playout/data")) == data_before
        assert tree(backup.path("/opt/playout/api/config")) == config_before
        for unit in ("playout-api", "playout-scheduler", "eit-update", "playout-admin"):
            assert backup.systemctl("is-active", unit).stdout.strip() == "active", unit
        (kept,) = (tmp_path / "b").glob("backup-before-import-*.pmcbundle")
        with kept.open("rb") as raw:
            reader = BundleReader(raw, where=str(kept))
            held = [m.name for m, _ in reader.members()]
        assert ("data" in reader.manifest.parts) is not without_data
        assert any(n.startswith("data/carousel/") for n in held) is not without_data
        assert any(n.startswith("db/") for n in held) and "config/spoolers.json" in held
    finally:
        lab.reset()
