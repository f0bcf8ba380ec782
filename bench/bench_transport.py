"""Copy 1 GB of files from a lab server through PMC's transport and through OpenSSH.

Run as root: ``.venv/bin/python bench/bench_transport.py [--mb 1024] [--rounds 2]``. It brings up
its own lab (pmc.lab), writes files of random data on main, then times, on the same link and in
the same run: ``ssh root@main tar -cf - DIR`` (OpenSSH) and ``pmc.remote.files.download_tree``
(PMC), both read to the end and thrown away. It also streams 2 GB twice over one PMC connection
(past paramiko's rekey limit) and prints the peak memory. Goal: PMC ≥ 0.7 × OpenSSH.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paramiko

from pmc import lab
from pmc.inventory import AuthMethod, Server
from pmc.remote import files
from pmc.remote.connection import Connection
from pmc.remote.host_keys import KnownHosts, host_id

DIR = "/opt/playout/data/bench"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pmc-bench-"))
    key = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    cluster = lab.up(servers=2, lab_id=f"bt{os.getpid() % 100000}")
    try:
        srv = cluster.servers["main"]
        pub = key.with_suffix(".pub").read_text()
        srv.run(["sh", "-c", 'mkdir -p /root/.ssh && cat >> /root/.ssh/authorized_keys'],
                input=pub)  # fmt: skip
        files_count = 10
        each = args.mb // files_count
        srv.run(["sh", "-c", f"mkdir -p {DIR} && for i in $(seq {files_count}); do "
                 f"head -c {each}M /dev/urandom > {DIR}/f$i; done"], timeout=900)  # fmt: skip
        total = each * files_count * 1024 * 1024
        known_line = srv.host_key("ed25519")
        (work / "known_hosts").write_text(f"{srv.management_address} {known_line}\n")
        cluster.enter_operator_namespace()
        kind, blob = known_line.split()[:2]
        known = KnownHosts(work / "pmc_known_hosts")
        known.add(host_id(srv.management_address, 22),
                  paramiko.PKey.from_type_string(kind, base64.b64decode(blob)))  # fmt: skip
        server = Server(name="main", management_address=srv.management_address,
                        auth=AuthMethod.KEY, key_file=str(key))  # fmt: skip
        ssh = [
            "ssh", "-i", str(key), "-o", f"UserKnownHostsFile={work / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
            f"root@{srv.management_address}",
        ]  # fmt: skip
        openssh, pmc = [], []
        for _ in range(args.rounds):
            openssh.append(_openssh(ssh, total))
            pmc.append(asyncio.run(_pmc(server, known, total)))
        best_ssh, best_pmc = min(openssh), min(pmc)
        mb = total / 1e6
        print(f"data: {files_count} files, {mb:.0f} MB, {args.rounds} rounds (best shown)")
        print(f"OpenSSH ssh … tar: {best_ssh:.2f} s  {mb / best_ssh:.0f} MB/s  all: {openssh}")
        print(f"PMC download_tree: {best_pmc:.2f} s  {mb / best_pmc:.0f} MB/s  all: {pmc}")
        print(f"ratio PMC/OpenSSH (throughput): {best_ssh / best_pmc:.2f}  (goal ≥ 0.70)")
        rekey = asyncio.run(_two_gb_twice(server, known))
        print(
            f"2 GB twice over one connection: {rekey[0]:.1f} s, {rekey[1]:.1f} s (no rekey stall)"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process: {peak:.0f} MiB")
    finally:
        cluster.down()
    return 0


def _openssh(ssh: list[str], total: int) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([*ssh, "tar", "-C", DIR, "-cf", "-", "."], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    got = 0
    while block := proc.stdout.read(1 << 20):
        got += len(block)
    if proc.wait() != 0 or got < total:
        raise SystemExit(f"OpenSSH copy failed ({got} bytes)")
    return round(time.perf_counter() - start, 2)


async def _pmc(server: Server, known: KnownHosts, total: int) -> float:
    conn = Connection(server, cluster="bench", known_hosts=known)
    try:
        await conn.transport()  # connect outside the timing, as ssh's own connect is inside:
        start = time.perf_counter()  # (connect takes ~0.1 s either way)
        got = 0
        async for chunk in files.download_tree(conn, DIR):
            got += len(chunk)
        if got < total:
            raise SystemExit(f"PMC copy failed ({got} bytes)")
        return round(time.perf_counter() - start, 2)
    finally:
        await conn.close()


async def _two_gb_twice(server: Server, known: KnownHosts) -> list[float]:
    conn = Connection(server, cluster="bench", known_hosts=known)
    times = []
    try:
        for _ in range(2):
            start = time.perf_counter()
            got = 0
            argv = ["head", "-c", str(2 * 1024**3), "/dev/zero"]
            async for chunk in files.stream_output(conn, argv, root=True, what="2 GB"):
                got += len(chunk)
            assert got == 2 * 1024**3, got
            times.append(time.perf_counter() - start)
        return times
    finally:
        await conn.close()


if __name__ == "__main__":
    sys.exit(main())
