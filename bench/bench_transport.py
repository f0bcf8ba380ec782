"""Copy 1 GB of files from a lab server through PMC's transport and through OpenSSH, fairly.

Run as root: ``.venv/bin/python bench/bench_transport.py [--mb 1024] [--rounds 3] [--flush]``.
It brings up its own lab (pmc.lab), writes 10 files of random data on main, and then, on the
same link, in the same run, rounds with the order rotated each round (see ``bench/fair.py``):

- OpenSSH on PMC's cipher: ``ssh -c CIPHER root@main tar -cf - DIR`` (the fair baseline);
- OpenSSH on its default cipher (the default-settings baseline);
- PMC: ``pmc.remote.files.download_tree`` (one stream);
- PMC in parallel: ``pmc.bundle.parts`` (what an export uses for big files): the files in
  8 MiB parts over N connections, handed over in order (``--streams``, default: PMC's own
  choice from the cores of both ends, or 2 where PMC would take 1 because both ends share
  this machine's cores). Its extra connections are made inside its timing.

Everything is read to the end by this process and thrown away. Left out, on both sides alike:
connection set-up and login (OpenSSH runs over a ControlMaster connection made beforehand,
PMC over its connected transport; both set-up times are printed separately) and disk writes.
Cache state: the files are read once before the timed runs (warm page cache for every run);
``--flush`` drops the page cache before every run instead. Figures: median of ``--rounds``,
spread and load beside them. Goals: one stream ≥ 0.9 × OpenSSH on the same cipher; parallel
≥ 1.3 × that one OpenSSH stream.

Then a re-key check: the lab's sshd gets ``RekeyLimit 64M`` and PMC streams 2 GB twice over
one connection; the key exchanges are counted in sshd's own log (LogLevel DEBUG1), and the
time of each 64 MiB between them is printed (median and slowest: a stall would show there).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paramiko

from bench import fair
from pmc import lab
from pmc.bundle import parts
from pmc.inventory import AuthMethod, Server
from pmc.lab import LabCluster, topology
from pmc.lab.network import NETNS_DIR
from pmc.remote import files
from pmc.remote.connection import Connection
from pmc.remote.host_keys import KnownHosts, host_id

DIR = "/opt/playout/data/bench"
FILES = 10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flush", action="store_true", help="drop the page cache before runs")
    parser.add_argument("--rekey-mb", type=int, default=64, help="0: no re-key check")
    parser.add_argument("--streams", type=int, nargs="*", help="parallel modes (default: auto)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_transport: needs root (the rehearsal lab)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="pmc-bench-"))
    key = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    cluster = lab.up(servers=2, lab_id=f"bt{os.getpid() % 100000}")
    try:
        return _bench(cluster, work, key, args)
    finally:
        cluster.down()


def _bench(cluster: LabCluster, work: Path, key: Path, args: argparse.Namespace) -> int:
    srv = cluster.servers["main"]
    pub = key.with_suffix(".pub").read_text()
    srv.run(["sh", "-c", "mkdir -p /root/.ssh && cat >> /root/.ssh/authorized_keys"], input=pub)
    each = args.mb // FILES
    srv.run(["sh", "-c", f"mkdir -p {DIR} && for i in $(seq {FILES}); do "
             f"head -c {each}M /dev/urandom > {DIR}/f$i; done"], timeout=900)  # fmt: skip
    total = each * FILES * 1024 * 1024
    known_line = srv.host_key("ed25519")
    (work / "known_hosts").write_text(f"{srv.management_address} {known_line}\n")
    cluster.enter_operator_namespace()  # ssh and PMC below run in the operator's namespace
    kind, blob = known_line.split()[:2]
    known = KnownHosts(work / "pmc_known_hosts")
    known.add(host_id(srv.management_address, 22),
              paramiko.PKey.from_type_string(kind, base64.b64decode(blob)))  # fmt: skip
    server = Server(name="main", management_address=srv.management_address,
                    auth=AuthMethod.KEY, key_file=str(key))  # fmt: skip
    ssh = fair.OpenSsh(key=key, known_hosts=work / "known_hosts", address=srv.management_address)

    loop = asyncio.new_event_loop()
    conn = Connection(server, cluster="bench", known_hosts=known)
    transport = loop.run_until_complete(conn.transport())
    cipher = str(getattr(transport, "remote_cipher", "unknown"))
    default_cipher = ssh.negotiated_cipher(None)
    masters = {
        "same": fair.ControlMaster(ssh, work / "ctl-same", cipher),
        "default": fair.ControlMaster(ssh, work / "ctl-default", None),
    }
    try:
        mb = total / 1e6
        cache = "dropped before every run" if args.flush else "warm (read once before)"
        print(f"machine: {fair.cores()} cores, load {fair.load():.1f}; data: {FILES} files, "
              f"{mb:.0f} MB of random bytes; {args.rounds} rounds, order rotated")  # fmt: skip
        print(f"cache: {cache}")
        print(f"PMC negotiates {cipher}; OpenSSH's default here is {default_cipher}")
        _openssh_read(masters["same"].line(f"tar -C {DIR} -cf - ."), total)  # warm-up
        same = fair.Series("OpenSSH, same cipher")
        default = fair.Series("OpenSSH, default cipher")
        single = fair.Series("PMC download_tree, 1 stream")
        tar = f"tar -C {DIR} -cf - ."
        contenders: list[tuple[fair.Series, fair.Run]] = [
            (same, lambda: _openssh_read(masters["same"].line(tar), total)),
            (default, lambda: _openssh_read(masters["default"].line(tar), total)),
            (single, lambda: loop.run_until_complete(_pmc_read(conn, total))),
        ]
        auto = loop.run_until_complete(parts.plan(conn, {"bench": DIR})).streams
        parallel: list[fair.Series] = []
        if each * 1024 * 1024 < parts.BIG:
            print(f"no parallel mode: parts are for files from {parts.BIG >> 20} MiB")
        if auto < 2:
            print(f"PMC's own choice here: 1 stream (both ends share this machine's "
                  f"{fair.cores()} cores); the parallel mode is measured with 2")  # fmt: skip
        for n in (args.streams or [max(2, auto)]) if each * 1024 * 1024 >= parts.BIG else []:
            series = fair.Series(f"PMC parts, {n} streams" + (" (auto)" if n == auto else ""))
            parallel.append(series)
            contenders.append((series, partial(_pmc_parts, loop, conn, total, n)))
        server_side = NETNS_DIR / topology.namespace(cluster.lab_id, "main")
        master_pids = [pid for master in masters.values() if (pid := master.pid())]
        meter = fair.CpuMeter(
            lambda: fair.namespace_processes(server_side), here=lambda: master_pids
        )
        fair.rounds(contenders, args.rounds, flush=args.flush, meter=meter)
        print()
        for series, _ in contenders:
            print(series.line(mb))
        print("CPU on both ends (this process, OpenSSH's client and master, every process "
              "of the lab server):")  # fmt: skip
        for line in fair.cpu_lines([series for series, _ in contenders], same, total / 1e9):
            print("  " + line)
        print(f"PMC single stream vs OpenSSH on the same cipher:  {fair.ratio(same, single):.2f}x"
              f"  (goal >= 0.90)")  # fmt: skip
        print(
            f"PMC single stream vs OpenSSH's default settings:  {fair.ratio(default, single):.2f}x"
        )
        for series in parallel:
            print(f"{series.name} vs one OpenSSH stream, same cipher: "
                  f"{fair.ratio(same, series):.2f}x (goal >= 1.30); vs OpenSSH's default: "
                  f"{fair.ratio(default, series):.2f}x")  # fmt: skip
        print("left out on both sides: connection set-up and login (below), disk writes")
        ssh_connect = sorted(ssh.connect_seconds(cipher) for _ in range(3))[1]
        pmc_connect = sorted(
            loop.run_until_complete(_pmc_connect(server, known)) for _ in range(3)
        )[1]
        print(f"connection set-up and login (median of 3): OpenSSH {ssh_connect:.2f} s, "
              f"PMC {pmc_connect:.2f} s")  # fmt: skip
    finally:
        for master in masters.values():
            master.close()
        loop.run_until_complete(conn.close())
        loop.close()
    if args.rekey_mb:
        _rekey_check(cluster, server, known, args.rekey_mb)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MiB")
    return 0


def _openssh_read(line: str, total: int) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(["sh", "-c", line], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    got = 0
    while block := proc.stdout.read(1 << 20):
        got += len(block)
    if proc.wait() != 0 or got < total:
        raise SystemExit(f"OpenSSH copy failed ({got} bytes)")
    return time.perf_counter() - start


async def _pmc_read(conn: Connection, total: int) -> float:
    start = time.perf_counter()
    got = 0
    async for chunk in files.download_tree(conn, DIR):
        got += len(chunk)
    if got < total:
        raise SystemExit(f"PMC copy failed ({got} bytes)")
    return time.perf_counter() - start


def _pmc_parts(loop: asyncio.AbstractEventLoop, conn: Connection, total: int, n: int) -> float:
    async def go() -> float:
        start = time.perf_counter()
        plan = await parts.plan(conn, {"bench": DIR}, streams=n)
        streams = parts.PartStreams(conn, plan)
        failed = True
        try:
            await streams.start()

            def read_all() -> int:
                got = 0
                for file in streams.order:
                    reader = streams.reader(file)
                    while block := reader.read(1 << 20):
                        got += len(block)
                streams.finish()
                return got

            got = await conn.in_thread(conn.executors.transfers, read_all)
            failed = False
        finally:
            await streams.close(failed=failed)
        if got < total:
            raise SystemExit(f"PMC parts failed ({got} bytes)")
        return time.perf_counter() - start

    return loop.run_until_complete(go())


async def _pmc_connect(server: Server, known: KnownHosts) -> float:
    conn = Connection(server, cluster="bench", known_hosts=known)
    try:
        start = time.perf_counter()
        await conn.transport()
        return time.perf_counter() - start
    finally:
        await conn.close()


def _rekey_check(cluster: LabCluster, server: Server, known: KnownHosts, limit_mb: int) -> None:
    srv = cluster.servers["main"]
    config = srv.path("/etc/ssh/sshd_config")
    original = config.read_text()
    config.write_text(f"RekeyLimit {limit_mb}M\nLogLevel DEBUG1\n" + original)
    log = srv.path("/var/log/sshd.log")
    try:
        srv.systemctl("restart", "sshd")
        before = log.stat().st_size
        times, stretches = asyncio.run(_two_gb_twice(server, known, limit_mb << 20))
        with log.open("rb") as f:
            f.seek(before)
            text = f.read().decode("utf-8", "replace")
        exchanges = sum(
            1
            for line in text.splitlines()
            if "SSH2_MSG_NEWKEYS received" in line and "[preauth]" not in line
        )
        mb = limit_mb * 1.048576
        print(
            f"2 GB twice over one connection, sshd RekeyLimit {limit_mb}M: "
            f"{times[0]:.1f} s, {times[1]:.1f} s; {exchanges} key exchanges (sshd's log); "
            f"each {limit_mb} MiB between them: median {statistics.median(stretches):.2f} s, "
            f"slowest {max(stretches):.2f} s ({mb / max(stretches):.0f} MB/s) "
            f"(load {fair.load():.1f})"
        )
    finally:
        config.write_text(original)
        srv.systemctl("restart", "sshd")


async def _two_gb_twice(
    server: Server, known: KnownHosts, stretch: int
) -> tuple[list[float], list[float]]:
    """Seconds of each 2 GB, and of each ``stretch`` bytes (the server re-keys between)."""
    conn = Connection(server, cluster="bench", known_hosts=known)
    times: list[float] = []
    stretches: list[float] = []
    try:
        await conn.transport()
        for _ in range(2):
            start = mark = time.perf_counter()
            got = 0
            argv = ["head", "-c", str(2 * 1024**3), "/dev/zero"]
            async for chunk in files.stream_output(conn, argv, root=True, what="2 GB"):
                if (got + len(chunk)) // stretch > got // stretch:
                    now = time.perf_counter()
                    stretches.append(now - mark)
                    mark = now
                got += len(chunk)
            assert got == 2 * 1024**3, got
            times.append(time.perf_counter() - start)
        return times, stretches
    finally:
        await conn.close()


if __name__ == "__main__":
    sys.exit(main())
