"""Status of a fleet: how long ONE refresh of 2, 4, 8, 16 and 32 servers takes (main/backup
pairs, one cluster each, on a fleet lab of light servers: sshd, the API stand-in and the port
listeners, no PostgreSQL), beside one SEQUENTIAL refresh of the same clusters measured in the
same run (each cluster probed after the other as before: one SSH session per probe, every
UDP probe waited for). Goal: 16 servers <= 2 s, and time growing clearly less than linearly
up to 32.

Both are warm (the SSH connections are open: the GUI refreshes every 15 s on open
connections); the fleet refresh shows the UDP links' last answers, probed behind it.

Run as root (the lab): ``.venv/bin/python bench/bench_status.py [--sizes 2 4 8 16 32]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fair
from pmc import lab
from pmc.background_probes import BackgroundProbes
from pmc.fleet import FleetProbe, probe_fleet
from pmc.inventory import AuthMethod, Cluster, Server
from pmc.lab.inventory import inventory_of, trust_host_keys
from pmc.probe_batches import Gate
from pmc.probes import PoolRunner, probe_cluster
from pmc.remote.credentials import NoCredentials
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool

GOAL_16_S = 2.0


def _with_key(cluster: Cluster, key: Path) -> Cluster:
    servers = tuple(
        Server(s.name, s.management_address, None, s.role, auth=AuthMethod.KEY, key_file=str(key))
        for s in cluster.servers
    )
    return Cluster(cluster.name, cluster.architecture, servers)


async def _fleet_refresh(clusters: list[Cluster], pool: ConnectionPool, probe: FleetProbe) -> float:
    began = time.perf_counter()
    await probe_fleet(clusters, lambda c: PoolRunner(pool, c.name), probe)
    return time.perf_counter() - began


async def _sequential_refresh(clusters: list[Cluster], pool: ConnectionPool) -> float:
    began = time.perf_counter()
    for cluster in clusters:
        await probe_cluster(cluster, PoolRunner(pool, cluster.name))
    return time.perf_counter() - began


async def _measure(
    clusters: list[Cluster], pool: ConnectionPool, rounds: int
) -> tuple[float, float, int]:
    background = BackgroundProbes()
    probe = FleetProbe(Gate(), background)
    await _fleet_refresh(clusters, pool, probe)  # connects, and starts the UDP probes
    await background.settle()
    fleet, sequential = [], []
    for _ in range(rounds):
        sequential.append(await _sequential_refresh(clusters, pool))
        await background.settle()  # each refresh starts from its last answers, as the GUI's
        fleet.append(await _fleet_refresh(clusters, pool, probe))
    await background.settle()
    background.close()
    return statistics.median(fleet), statistics.median(sequential), probe.gate.peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[2, 4, 8, 16, 32])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_status: needs root (the rehearsal lab)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="pmc-bench-status-"))
    key = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    biggest = max(args.sizes)
    began = time.monotonic()
    fleet_lab = lab.up(biggest, lab_id=f"bs{os.getpid() % 100000}", fleet=True)
    try:
        print(f"fleet lab of {biggest} light servers up in {time.monotonic() - began:.0f} s")
        pub = key.with_suffix(".pub").read_text()
        for srv in fleet_lab.servers.values():
            authorized = srv.path("/root/.ssh/authorized_keys")
            authorized.write_text(pub)
            authorized.chmod(0o600)
        known = KnownHosts(work / "known_hosts")
        trust_host_keys(fleet_lab, known)
        clusters = [_with_key(c, key) for c in inventory_of(fleet_lab).clusters]
        fleet_lab.enter_operator_namespace()
        return _bench(clusters, known, args)
    finally:
        fleet_lab.down()


def _bench(clusters: list[Cluster], known: KnownHosts, args: argparse.Namespace) -> int:
    print(f"machine: {fair.cores()} cores, load {fair.load():.1f}; {args.rounds} rounds, medians")
    print("servers  clusters  fleet refresh  sequential (same run)  sequential/fleet  peak")
    rows: dict[int, tuple[float, float]] = {}
    for size in sorted(args.sizes):
        chosen = clusters[: size // 2]
        pool = ConnectionPool(known_hosts=known, credentials=NoCredentials())

        async def run(chosen: list[Cluster] = chosen, pool: ConnectionPool = pool) -> tuple:  # type: ignore[type-arg]
            try:
                return await _measure(chosen, pool, args.rounds)
            finally:
                await pool.close()

        fleet, sequential, peak = asyncio.run(run())
        rows[size] = (fleet, sequential)
        print(
            f"{size:7d}  {len(chosen):8d}  {fleet:11.2f} s  {sequential:19.2f} s"
            f"  {sequential / fleet:15.1f}x  {peak:4d}"
        )
    smallest = min(rows)
    print("growth from the smallest size (time ratio against server ratio):")
    for size, (fleet, sequential) in sorted(rows.items()):
        servers = size / smallest
        print(
            f"  {size:2d} servers: {servers:4.0f}x servers -> fleet "
            f"{fleet / rows[smallest][0]:5.2f}x,"
            f" sequential {sequential / rows[smallest][1]:5.2f}x"
        )
    if 16 in rows:
        verdict = "met" if rows[16][0] <= GOAL_16_S else "NOT met"
        print(f"goal 16 servers <= {GOAL_16_S:g} s: {verdict} ({rows[16][0]:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
