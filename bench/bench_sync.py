"""Benchmark: one changed row through the delta engine beside a full copy_config.sh.

Starts a redundant two-server lab seeded with ``--seed-rows`` rows (default 100 000) and
``--data-mb`` of data files, converges backup once (copy config), then, in one run on the
same link:

- baseline: Playout's ``copy_config.sh`` through PMC's Playout engine, after one changed row;
- PMC: the delta engine after one changed row (compare everything, copy that row);
- PMC: the drift report (rows, files, config files) of the cluster, read only.

Goals: delta ≥ 10× faster than copy_config.sh; drift report ≤ 2 s. Best of ``--rounds``.

Run as root: ``.venv/bin/python bench/bench_sync.py [--seed-rows 100000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pmc.jobs import Job
from pmc.lab import up
from pmc.remote import commands
from pmc.sync import copy_config, delta_engine, drift, table_rows
from tests.sync.labkit import SyncLab

LAB_ID = "bench-sync"


def change_one_row(lab: SyncLab, n: int) -> None:
    lab.sql("main", f"UPDATE dvb_services SET name = 'Icareus 1 ({n})' WHERE service_id = 1")


async def timed(lab: SyncLab, what: str) -> tuple[float, Any]:
    pool = lab.pool()
    conns = {s.name: pool.connection(s, lab.cluster.name) for s in lab.cluster.servers}
    try:
        # Connections (SSH log-in) are made before the clock starts: both paths share them.
        await asyncio.gather(*(c.transport() for c in conns.values()))
        started = time.perf_counter()
        if what == "copy_config":
            result: Any = await Job(
                "sync", what, lambda ctx: copy_config.copy_config(lab.cluster, conns, ctx)
            ).run()
        elif what == "delta":
            result = await Job(
                "sync", what, lambda ctx: delta_engine.delta_sync(lab.cluster, conns, ctx)
            ).run()
        elif what == "fetch":
            result = await fetch_both_ways(lab, conns)
        else:
            result = await drift.drift_report(lab.cluster, conns)
        return time.perf_counter() - started, result
    finally:
        await pool.close()


async def fetch_both_ways(lab: SyncLab, conns: dict[str, Any]) -> tuple[float, float, int]:
    """Row hashes of main's largest table: tunnel + psycopg vs psql over an SSH command."""
    main_server = lab.cluster.server("main")
    async with delta_engine.databases(main_server, lab.cluster.server("backup"), conns) as (pg, _):
        schema = await asyncio.to_thread(table_rows.read_schema, pg)
        table = schema.table("eit_event")
        started = time.perf_counter()
        found = await asyncio.to_thread(table_rows.row_hashes, pg, table, server="main")
        tunnel = time.perf_counter() - started
        query = table_rows.hashes_sql(table).as_string(pg)
        pg.rollback()
    argv = ["psql", "-X", "-q", "-U", "postgres", "-d", "playout", "-c",
            f"COPY ({query}) TO STDOUT"]  # fmt: skip
    started = time.perf_counter()
    result = await commands.run(conns["main"], argv, root=True, check=True)
    over_exec = time.perf_counter() - started
    assert len(result.stdout.splitlines()) == len(found)
    return tunnel, over_exec, len(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-rows", type=int, default=100_000)
    parser.add_argument("--data-mb", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_sync: run as root (the lab needs namespaces)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    cluster = up(servers=2, state="redundant", seed_rows=args.seed_rows, data_mb=args.data_mb,
                 lab_id=LAB_ID)  # fmt: skip
    print(f"lab up with {args.seed_rows} seed rows in {time.perf_counter() - started:.1f} s")
    lab = SyncLab(cluster)
    try:
        cluster.enter_operator_namespace()
        rows = lab.sql("main", "SELECT sum(n_live_tup) FROM pg_stat_user_tables")
        print(f"rows in main's playout database: {rows}")
        asyncio.run(timed(lab, "copy_config"))  # converge backup first
        copies, deltas, drifts = [], [], []
        for n in range(args.rounds):
            change_one_row(lab, 2 * n)
            seconds, _ = asyncio.run(timed(lab, "copy_config"))
            copies.append(seconds)
            change_one_row(lab, 2 * n + 1)
            seconds, result = asyncio.run(timed(lab, "delta"))
            assert result.rows_changed == 1, result
            deltas.append(seconds)
            seconds, report = asyncio.run(timed(lab, "drift"))
            drifts.append(seconds)
            print(
                f"round {n + 1}: copy_config.sh {copies[-1]:.2f} s, delta {deltas[-1]:.3f} s, "
                f"drift report {drifts[-1]:.3f} s ({report.summary})"
            )
        _, (tunnel, over_exec, count) = asyncio.run(timed(lab, "fetch"))
        print(f"row hashes of eit_event ({count} rows): tunnel + psycopg {tunnel:.3f} s, "
              f"psql over an SSH command {over_exec:.3f} s")  # fmt: skip
        best_copy, best_delta, best_drift = min(copies), min(deltas), min(drifts)
        ratio = best_copy / best_delta
        print()
        print(f"one changed row, {args.seed_rows} seed rows (best of {args.rounds}):")
        print(f"  copy_config.sh (baseline)  {best_copy:8.2f} s")
        print(f"  PMC delta engine           {best_delta:8.3f} s   {ratio:6.1f}x faster"
              f"  (goal >= 10x: {'met' if ratio >= 10 else 'NOT met'})")  # fmt: skip
        print(f"  drift report               {best_drift:8.3f} s"
              f"   (goal <= 2 s: {'met' if best_drift <= 2 else 'NOT met'})")  # fmt: skip
    finally:
        lab.close()
        cluster.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
