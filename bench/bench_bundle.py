"""Benchmark: configuration bundles on a lab server — memory and throughput, fairly.

For each ``--data-mb`` size (default 256 and 2048) it starts a 2-server lab with that much
carousel/av/ts data per server, then runs rounds (order rotated each round, page cache dropped
before every run where the machine allows it; see ``bench/fair.py``):

- export baselines: ``ssh root@main tar -cf - carousel av ts > FILE; sync FILE``, with ``-c``
  set to the cipher PMC negotiates (the fair one) and with OpenSSH's default cipher;
- PMC export: ``export_bundle`` of main (database, config and data) to a file;
- import baseline: ``ssh root@backup 'tar -xf - && sync -f DIR' < FILE`` into backup's data
  folder (same cipher), each timed run right after an untimed one: over the files of its own
  last run ``tar -x`` is at its fastest on the lab (6.2-6.7 s for 2 GB, against 7.8-9.4 s over
  the files a PMC import left), so PMC's import is measured against the baseline's best;
- verify baseline: ``cat FILE > /dev/null`` (the bundle read from the disk, nothing else: the
  disk's speed); PMC's ``verify_file`` of it (read, every member hashed and checked against
  the trailer), in this process;
- PMC import: ``import_bundle`` of that bundle into backup (verify, automatic backup taken
  while the bundle is staged and loaded, switch, restart, verify), its steps timed — twice:
  with the full automatic backup (the default) and with the data folders left out of it
  (``pmc import --backup-without-data``), each beside the same rounds' ``tar -x``.

Counted on both sides alike: connection set-up and login (each run makes its own connection;
PMC's export and import run in a fresh child process, whose start-up is not counted) and the
fsync of the written file (PMC fsyncs the bundle, the baseline runs ``sync FILE``), and on
the server the flush of the extracted files (PMC's import flushes the staged folders before the
switch, the baseline runs ``sync -f`` on the data folder). PMC's export also carries
the database and the config files, which the tar baseline leaves out (small here).

PMC runs with its defaults (the data folders and big files over the system's OpenSSH client,
where there is one) and, for comparison, with every stream over its own SSH (paramiko;
``PMC_BULK_SSH=paramiko``).

Each PMC run reports its peak RSS (VmHWM): the goal is at most 150 MB, flat with the size.
Each run's CPU time on both ends is kept too (this process and what it waited for: PMC's
child and its ``ssh``, the baseline's ``ssh``; every process of the lab server): printed per
GB of bundle, on both ends and on each, with the ceiling that cost puts on this machine's
cores (both ends of the lab share them; see ``fair.cpu_lines``). A PMC child's start-up
(Python and PMC's imports, before its clock starts) is left out of its CPU time as of its
seconds.
Goals on the same cipher: export ≥ 1.0×, import ≥ 0.8× (medians of ``--rounds``).

Run as root: ``.venv/bin/python bench/bench_bundle.py [--data-mb 256 2048] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paramiko

from bench import fair
from pmc.bundle.archive_reader import verify_file
from pmc.bundle.export import ExportOptions, export_bundle
from pmc.bundle.importer import ImportOptions, import_bundle
from pmc.inventory import AuthMethod, Server
from pmc.jobs import EventKind, Job, JobEvent
from pmc.lab import LabCluster, down, topology, up
from pmc.lab.network import NETNS_DIR
from pmc.remote.connection import Connection
from pmc.remote.host_keys import KnownHosts, TrustFingerprints, fingerprint
from pmc.words import plural

LAB_ID = "bench-bundle"
FOLDERS = "carousel av ts"
STAGE_STEP = "Stage files and load the database"  # the transfer (what tar -x does), and the
# wait for the automatic backup taken beside it


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _own_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def child(args: argparse.Namespace) -> int:
    """Runs one export or import in this (fresh) process; prints JSON with times and RSS."""
    kind, blob = args.host_key.split()[:2]
    fp = fingerprint(paramiko.PKey.from_type_string(kind, base64.b64decode(blob)))
    server = Server(
        name=args.server,
        management_address=args.address,
        auth=AuthMethod.KEY,
        key_file=args.key,
    )
    conn = Connection(
        server,
        cluster="bench",
        known_hosts=KnownHosts(Path(args.work) / "pmc_known_hosts"),
        trust=TrustFingerprints([fp]),
    )
    steps: dict[str, float] = {}
    start_up = 0.0

    def on_event(event: JobEvent) -> None:
        if event.kind is EventKind.STEP_STARTED and event.step:
            steps[event.step] = -event.time
        elif event.kind is EventKind.STEP_FINISHED and event.step:
            steps[event.step] += event.time

    async def go() -> tuple[float, str]:
        nonlocal start_up
        start_up = _own_cpu()  # Python and PMC's imports: not timed, so not counted either
        started = time.monotonic()
        try:
            if args.child == "export":
                streams = int(args.streams) if args.streams else None
                await export_bundle(conn, Path(args.file), ExportOptions(streams=streams))
            else:
                options = ImportOptions(
                    backup_dir=Path(args.work) / "backups",
                    backup_without_data=bool(args.backup_without_data),
                    streams=int(args.streams) if args.streams else None,
                )
                job: Job[object] = Job(
                    "import",
                    "bench",
                    lambda ctx: import_bundle(conn, Path(args.file), options, ctx),
                )
                job.subscribe(on_event)
                await job.run()
            transport = await conn.transport()
            return time.monotonic() - started, str(getattr(transport, "remote_cipher", "unknown"))
        finally:
            await conn.close()

    seconds, cipher = asyncio.run(go())
    print(
        json.dumps(
            {
                "seconds": seconds,
                "start_up_cpu": start_up,
                "peak_rss_mb": _peak_rss_mb(),
                "cipher": cipher,
                "steps": steps,
            }
        )
    )
    return 0


def _install_key(lab: LabCluster, work: Path) -> Path:
    key = work / "bench_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    pub = key.with_suffix(".pub").read_text()
    lines = []
    for srv in lab.servers.values():
        auth = srv.path("/root/.ssh/authorized_keys")
        auth.parent.mkdir(parents=True, exist_ok=True)
        with auth.open("a") as f:
            f.write(pub)
        auth.chmod(0o600)
        lines.append(f"{srv.management_address} {srv.host_key()}")
    (work / "known_hosts").write_text("\n".join(lines) + "\n")
    return key


class Bench:
    """One lab, one size: the runs of each contender."""

    def __init__(self, lab: LabCluster, work: Path, key: Path) -> None:
        self.lab = lab
        self.work = work
        self.key = key
        self.bundle = work / "main.pmcbundle"
        self.tar = work / "baseline.tar"
        self.results: list[dict[str, Any]] = []

    def ssh(self, server: str) -> fair.OpenSsh:
        srv = self.lab.servers[server]
        return fair.OpenSsh(self.key, self.work / "known_hosts", srv.management_address)

    def child(
        self,
        what: str,
        server: str,
        streams: int | None = None,
        *,
        without_data: bool = False,
        bulk: str = "auto",
    ) -> dict[str, Any]:
        srv = self.lab.servers[server]
        argv = [
            "ip", "netns", "exec", self.lab.operator_namespace, sys.executable, __file__,
            "--child", what, "--server", server, "--address", srv.management_address,
            "--host-key", srv.host_key(), "--key", str(self.key), "--work", str(self.work),
            "--file", str(self.bundle), *(["--streams", str(streams)] if streams else []),
            *(["--backup-without-data", "1"] if without_data else []),
        ]  # fmt: skip
        env = {**os.environ, "PMC_BULK_SSH": bulk}
        out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env)
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        result["without_data"] = without_data
        result["bulk"] = bulk
        result["streams"] = streams
        self.results.append(result)
        return result

    def pmc_export(self, streams: int | None = None, bulk: str = "auto") -> fair.Timed:
        self.bundle.unlink(missing_ok=True)
        result = self.child("export", "main", streams, bulk=bulk)
        return fair.Timed(float(result["seconds"]), float(result["start_up_cpu"]))

    def pmc_import(
        self, without_data: bool = False, streams: int | None = None, bulk: str = "auto"
    ) -> fair.Timed:
        result = self.child("import", "backup", streams, without_data=without_data, bulk=bulk)
        shutil.rmtree(self.work / "backups", ignore_errors=True)
        return fair.Timed(float(result["seconds"]), float(result["start_up_cpu"]))

    def pmc_verify(self) -> float:
        started = time.monotonic()
        verify_file(self.bundle)
        return time.monotonic() - started

    def read_file(self) -> float:
        started = time.monotonic()
        subprocess.run(["sh", "-c", 'cat -- "$0" >/dev/null', str(self.bundle)], check=True)
        return time.monotonic() - started

    def openssh_export(self, cipher: str | None) -> float:
        self.tar.unlink(missing_ok=True)
        remote = f"tar -C /opt/playout/data -cf - {FOLDERS}"
        line = f"{self.ssh('main').line(remote, cipher=cipher)} > {self.tar} && sync {self.tar}"
        return self._timed(line)

    def openssh_import(self, cipher: str | None) -> float:
        remote = "tar -C /opt/playout/data -xf - && sync -f /opt/playout/data"
        line = f"{self.ssh('backup').line(remote, cipher=cipher)}"
        return self._timed(f"{line} < {self.tar}")

    def _timed(self, line: str) -> float:
        started = time.monotonic()
        self.lab.operator_run(["sh", "-c", line], timeout=3600)
        return time.monotonic() - started


def _meter(lab: LabCluster, server: str) -> fair.CpuMeter:
    """CPU on both ends: this process and what it waited for (PMC's child process and its
    ``ssh``, the baseline's ``ssh``), and every process of the lab server (sshd, its
    sessions, ``tar``, PostgreSQL, the services), with the children they reaped."""
    netns = NETNS_DIR / topology.namespace(lab.lab_id, server)
    return fair.CpuMeter(lambda: fair.namespace_processes(netns))


def _median_steps(results: list[dict[str, Any]]) -> dict[str, float]:
    """Each step's median over ``results`` (the runs of one kind of import)."""
    return {
        k: sorted(r["steps"][k] for r in results)[len(results) // 2] for k in results[0]["steps"]
    }


def bench_size(
    data_mb: int, rounds: int, flush: bool, streams: list[int], import_streams: list[int]
) -> dict[str, Any]:
    down(LAB_ID)
    print(f"\n== lab with {data_mb} MB of data per server …", flush=True)
    lab = up(servers=2, state="fresh", data_mb=data_mb, lab_id=LAB_ID)
    work = Path(tempfile.mkdtemp(prefix="pmc-bench-bundle-", dir="/var/tmp"))
    try:
        b = Bench(lab, work, _install_key(lab, work))
        b.openssh_export(None)  # a first tar for the import baseline; and the lab's writes flushed
        cipher = b.child("export", "main")["cipher"]
        default = lab.call_in_operator_namespace(b.ssh("main").negotiated_cipher, None)
        print(f"PMC negotiates {cipher}; OpenSSH's default here is {default}; cache: "
              f"{'dropped before every run' if flush else 'order rotated only'}; "
              f"load {fair.load():.1f} on {fair.cores()} cores", flush=True)  # fmt: skip
        b.results.clear()
        ex_same, ex_default = (
            fair.Series("OpenSSH tar, same cipher"),
            fair.Series("OpenSSH default"),
        )
        ex_pmc = fair.Series("PMC export (streams: auto)")
        ex_own = fair.Series("PMC export, every stream over PMC's own SSH")
        exports: list[tuple[fair.Series, fair.Run]] = [
            (ex_same, lambda: b.openssh_export(cipher)),
            (ex_default, lambda: b.openssh_export(None)),
            (ex_pmc, b.pmc_export),
            (ex_own, partial(b.pmc_export, None, "paramiko")),
        ]
        others = [fair.Series(f"PMC export ({plural(n, 'stream')})") for n in streams]
        exports += [(x, partial(b.pmc_export, n)) for x, n in zip(others, streams, strict=True)]
        print("export:")
        fair.rounds(exports, rounds, flush=flush, meter=_meter(lab, "main"))
        export_rss = max(r["peak_rss_mb"] for r in b.results)
        ve_cat, ve_pmc = fair.Series("cat of the bundle (the disk)"), fair.Series("PMC verify")
        print("verify:")
        fair.rounds([(ve_cat, b.read_file), (ve_pmc, b.pmc_verify)], rounds, flush=flush)
        b.openssh_export(cipher)  # the tar that the import baseline extracts
        b.results.clear()
        im_same = fair.Series("OpenSSH tar -x, same cipher")
        im_pmc = fair.Series("PMC import (full backup)")
        im_lean = fair.Series("PMC import (backup without the data folders)")
        im_own = fair.Series("PMC import (backup without the data folders), over PMC's own SSH")
        imports: list[tuple[fair.Series, fair.Run]] = [
            (im_same, lambda: b.openssh_import(cipher)),
            (im_pmc, b.pmc_import),
            (im_lean, partial(b.pmc_import, True)),
            (im_own, partial(b.pmc_import, True, None, "paramiko")),
        ]
        im_others = [
            fair.Series(f"PMC import (backup without the data folders, {plural(n, 'stream')})")
            for n in import_streams
        ]
        imports += [
            (x, partial(b.pmc_import, True, n))
            for x, n in zip(im_others, import_streams, strict=True)
        ]

        def over_its_own_files(series: fair.Series) -> None:
            if series is im_same:
                b.openssh_import(cipher)

        print("import:")
        fair.rounds(
            imports, rounds, flush=flush, before=over_its_own_files, meter=_meter(lab, "backup")
        )
        auto = [r for r in b.results if not r.get("streams") and r["bulk"] == "auto"]
        steps, lean_steps = (_median_steps([r for r in auto if r["without_data"] is w])
                             for w in (False, True))  # fmt: skip
        gigabytes = b.bundle.stat().st_size / 1e9
        figures = {
            "data_mb": data_mb,
            "bundle_bytes": b.bundle.stat().st_size,
            "cpu": fair.cpu_lines([x for x, _ in exports], ex_same, gigabytes)
            + fair.cpu_lines([x for x, _ in imports], im_same, gigabytes),
            "export": [
                s.line(b.bundle.stat().st_size / 1e6)
                for s in (ex_same, ex_default, ex_pmc, ex_own, *others)
            ],
            "export_ratio_own": fair.ratio(ex_same, ex_own),
            "export_ratio_same": fair.ratio(ex_same, ex_pmc),
            "export_ratio_others": {x.name: fair.ratio(ex_same, x) for x in others},
            "export_ratio_default": fair.ratio(ex_default, ex_pmc),
            "export_peak_rss_mb": export_rss,
            "verify": [s.line(b.bundle.stat().st_size / 1e6) for s in (ve_cat, ve_pmc)],
            "verify_ratio": fair.ratio(ve_cat, ve_pmc),
            "import": [
                s.line(b.bundle.stat().st_size / 1e6)
                for s in (im_same, im_pmc, im_lean, im_own, *im_others)
            ],
            "import_ratio_own": fair.ratio(im_same, im_own),
            "import_ratio_others": {x.name: fair.ratio(im_same, x) for x in im_others},
            "import_ratio_same": fair.ratio(im_same, im_pmc),
            "import_stage_ratio_same": im_same.median / steps[STAGE_STEP],
            "import_steps": steps,
            "lean_ratio_same": fair.ratio(im_same, im_lean),
            "lean_stage_ratio_same": im_same.median / lean_steps[STAGE_STEP],
            "lean_steps": lean_steps,
            "import_peak_rss_mb": max(r["peak_rss_mb"] for r in b.results),
        }
        return figures
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)
        lab.down()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-mb", type=int, nargs="+", default=[256, 2048])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-flush", action="store_true", help="rotate the order only")
    parser.add_argument("--export-streams", type=int, nargs="*", default=[],
                        help="also time PMC exports with these stream counts")  # fmt: skip
    parser.add_argument("--import-streams", type=int, nargs="*", default=[],
                        help="also time PMC imports (backup without the data folders) with "
                        "these stream counts for the big files (1: none in parts)")  # fmt: skip
    parser.add_argument("--child", choices=["export", "import"])
    for name in ("server", "address", "host-key", "key", "work", "file", "streams"):
        parser.add_argument(f"--{name}")
    parser.add_argument("--backup-without-data")
    args = parser.parse_args()
    if args.child:
        return child(args)
    if os.geteuid() != 0:
        print("bench_bundle: needs root (the rehearsal lab)", file=sys.stderr)
        return 2
    flush = not args.no_flush and fair.can_drop_caches()
    rows = [
        bench_size(mb, args.rounds, flush, args.export_streams, args.import_streams)
        for mb in args.data_mb
    ]
    print()
    for r in rows:
        print(f"== {r['data_mb']} MB of data, bundle {r['bundle_bytes'] / 1e6:.0f} MB")
        for line in r["export"]:
            print("  " + line)
        print(
            f"  export: {r['export_ratio_same']:.2f}x of OpenSSH on the same cipher (goal >= 1.0), "
            f"{r['export_ratio_default']:.2f}x of OpenSSH's default; "
            f"peak RSS {r['export_peak_rss_mb']:.0f} MB"
        )
        print(f"  export over PMC's own SSH: {r['export_ratio_own']:.2f}x")
        for name, x in r["export_ratio_others"].items():
            print(f"  {name}: {x:.2f}x of OpenSSH on the same cipher")
        for line in r["verify"]:
            print("  " + line)
        print(f"  verify: {r['verify_ratio']:.2f}x of reading the file with cat")
        for line in r["import"]:
            print("  " + line)
        for kind, key in (("full backup", "import"), ("backup without the data", "lean")):
            steps = ", ".join(f"{k} {v:.1f} s" for k, v in r[f"{key}_steps"].items())
            print(
                f"  import ({kind}): {r[f'{key}_ratio_same']:.2f}x of OpenSSH tar -x on the same "
                f"cipher (goal >= 0.8); its transfer step ({STAGE_STEP}, with its wait for the "
                f"backup beside it) {r[f'{key}_stage_ratio_same']:.2f}x; steps (median): {steps}"
            )
        print(
            f"  import (backup without the data) over PMC's own SSH: {r['import_ratio_own']:.2f}x"
        )
        for name, x in r["import_ratio_others"].items():
            print(f"  {name}: {x:.2f}x of OpenSSH tar -x on the same cipher")
        print(f"  import: peak RSS {r['import_peak_rss_mb']:.0f} MB")
        print("  CPU on both ends (this process and its children, every process of the lab "
              "server), per GB of bundle:")  # fmt: skip
        for line in r["cpu"]:
            print("    " + line)
    print("RSS goal: <= 150 MB and flat with the size")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
