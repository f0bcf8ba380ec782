"""Playout's bin scripts run standalone against two throw-away PostgreSQL instances.

The Slony-I part of copy_config.sh is exercised by sourcing the script and calling its
functions (its ssh steps need the lab; tests/lab/test_fidelity.py runs the whole script there).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmc.lab import playout
from pmc.lab.playout import seed
from tests.lab import playout_pg

pytestmark = pytest.mark.skipif(bool(playout_pg.available()), reason=str(playout_pg.available()))
BIN = playout.bin_dir()


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[playout_pg.Instance, playout_pg.Instance]]:
    first, second = playout_pg.address_pair()
    primary = playout_pg.start(first)
    secondary = playout_pg.start(second)
    try:
        yield primary, secondary
    finally:
        primary.stop()
        secondary.stop()


def _env(pg: playout_pg.Instance, home: Path) -> dict[str, str]:
    return {
        **os.environ, "PGHOST": pg.socket_dir, "PGPORT": str(pg.port), "PLAYOUT_HOME": str(home),
        "COPY_CONFIG_LOG": str(home / "copy-config.log"),
    }  # fmt: skip


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=False, env=env, capture_output=True, text=True, timeout=120)


def _fresh(pg: playout_pg.Instance, rows: int, server: str) -> None:
    pg.psql("DROP SCHEMA IF EXISTS _playout CASCADE; DROP SCHEMA public CASCADE; "
            "CREATE SCHEMA public")  # fmt: skip
    seed.seed(pg.dsn, rows, with_schema=True, server=server)


def test_slony_copies_the_configuration_and_leaves_local_tables(
    pair: tuple[playout_pg.Instance, playout_pg.Instance], tmp_path: Path
) -> None:
    primary, secondary = pair
    _fresh(primary, 500, "main")
    _fresh(secondary, 0, "backup")
    primary.psql("INSERT INTO dvb_services (service_id, name, provider) "
                 "VALUES (5, 'Icareus 5', 'Icareus')")  # fmt: skip
    secondary.psql("UPDATE ts_outputs SET name = 'backup only'")
    script = f"""
        PRIMARY_LOGFILE={tmp_path}/slon1.log SECONDARY_LOGFILE={tmp_path}/slon2.log
        source {BIN}/copy_config.sh
        PRIMARY_HOST={primary.address} SECONDARY_HOST={secondary.address}
        remove_replication_system
        create_replication_system || exit 10
        start_slon Primary; start_slon Secondary
        start_replication || exit 11
        wait_for_replication || exit 12
        workers=$(for pid in $SLON_PIDS; do pgrep -P $pid -x slon; done)
        [ -n "$workers" ] || exit 13
        kill_slons
        for pid in $workers; do  # gone, or a zombie waiting for init to reap it
            for i in $(seq 100); do
                state=$(awk '{{print $3}}' /proc/$pid/stat 2>/dev/null)
                [ -z "$state" ] || [ "$state" = Z ] && break
                sleep 0.1
            done
            [ -z "$state" ] || [ "$state" = Z ] || exit 14
        done
        remove_replication_system
    """
    result = _run(["bash", "-c", script], _env(primary, tmp_path))
    assert result.returncode == 0, (result.stderr, (tmp_path / "copy-config.log").read_text())
    # bash reports the killed slons the way the seed shows them
    assert (
        'Killed                  slon playout "dbname=playout user=postgres host=$PRIMARY_HOST"'
        in (result.stderr)
    )
    for table in playout.REPLICATED_TABLES:
        query = (
            f"SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {table} t"
        )
        assert primary.psql(query) == secondary.psql(query), table
    assert secondary.psql("SELECT name FROM dvb_services WHERE service_id = 5") == "Icareus 5"
    assert secondary.psql("SELECT DISTINCT name FROM ts_outputs") == "backup only"
    for pg in pair:  # the replication system is gone, tables are plain again
        assert pg.psql("SELECT count(*) FROM pg_namespace WHERE nspname = '_playout'") == "0"
        assert pg.psql("SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = tgrelid "
                       "WHERE relname = 'dvb_services' AND NOT tgisinternal") == "0"  # fmt: skip


def test_create_replication_system_returns_255_when_the_secondary_is_unreachable(
    pair: tuple[playout_pg.Instance, playout_pg.Instance], tmp_path: Path
) -> None:
    primary, _ = pair
    _fresh(primary, 0, "main")
    unreachable = primary.address.rsplit(".", 1)[0] + ".3"  # nothing listens there
    script = f"""
        source {BIN}/copy_config.sh
        PRIMARY_HOST={primary.address} SECONDARY_HOST={unreachable}
        create_replication_system; rc=$?
        remove_replication_system
        exit $rc
    """
    result = _run(["bash", "-c", script], _env(primary, tmp_path))
    assert result.returncode == 255, result.stderr


def test_replication_status_scripts_print_the_seed_lines(
    pair: tuple[playout_pg.Instance, playout_pg.Instance], tmp_path: Path
) -> None:
    primary, _ = pair
    _fresh(primary, 0, "main")
    env = _env(primary, tmp_path)
    started = _run([str(BIN / "replication_started.sh"), "127.17.59.129"], env)
    assert started.stdout.splitlines() == [
        f"{BIN}/replication_started.sh: Updating the replication status",
        f"{BIN}/replication_started.sh: Updating the replication start time",
    ]
    assert primary.psql("SELECT status, peer, start_time IS NOT NULL FROM replication_status") == (
        "running|127.17.59.129|t"
    )
    # copy config refuses to run while the status says running
    skipped = _run([str(BIN / "copy_config.sh"), primary.address, "127.0.0.9"], env)
    assert skipped.returncode == 1
    lines = [line.removeprefix(f"{BIN}/copy_config.sh: ") for line in skipped.stdout.splitlines()]
    assert lines[-4:] == [
        "Skip replication: replication is already in progress",
        f"You can reset the replication status by running {BIN}/replication_stopped.sh",
        "Don't reset the replication if it is still running.",
        f"After resetting replication you can run {BIN}/copy_config.sh again.",
    ]
    assert "Checking if replication is in progress..." in lines
    stopped = _run([str(BIN / "replication_stopped.sh")], env)
    assert stopped.stdout.splitlines() == [
        f"{BIN}/replication_stopped.sh: Updating the replication status",
        f"{BIN}/replication_stopped.sh: Updating the replication stop time",
    ]
    assert primary.psql("SELECT status, stop_time IS NOT NULL FROM replication_status") == (
        "stopped|t"
    )
    assert "copy_config.sh" in (tmp_path / "copy-config.log").read_text()


def test_check_failover_records_the_peer_and_prints_the_seed_lines(
    pair: tuple[playout_pg.Instance, playout_pg.Instance], tmp_path: Path
) -> None:
    primary, _ = pair
    env = _env(primary, tmp_path)
    result = _run([str(BIN / "check_failover.sh"), primary.address], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"{BIN}/check_failover.sh: warning: no managers specified",
        "autoupdate inactive: 1",
        f"{BIN}/check_peer_status.sh: peer host is {primary.address}",
        "Peer active",
    ]
    assert (tmp_path / ".failover-peer").read_text() == f"{primary.address}\n"
    again = _run([str(BIN / "check_peer_status.sh")], env)
    assert again.stdout.splitlines()[-1] == "Peer active"
    down = _run([str(BIN / "check_peer_status.sh"), "127.0.0.9"], env)
    assert (down.returncode, down.stdout.splitlines()[-1]) == (1, "Peer inactive")


def test_setup_firewall_opens_playout_ports(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    fake = tmp_path / "firewall-cmd"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    result = _run([str(BIN / "setup-firewall.sh")], env)
    assert result.returncode == 0
    lines = calls.read_text().splitlines()
    assert "--permanent --zone=public --add-port=5432/tcp" in lines
    assert "--permanent --zone=public --add-port=161/udp" in lines
    assert lines[-1] == "--reload"
