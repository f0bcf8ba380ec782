"""Benchmark: configuration bundles on a lab server — memory and export throughput.

For each ``--data-mb`` size (default 256 and 2048) it starts a 2-server lab with that much
carousel/av/ts data per server, then, in one run on the same link:

- baseline: OpenSSH ``ssh root@main tar -cf - carousel av ts > FILE`` of the same folders;
- PMC: ``export_bundle`` of main (database, config and data) to a file;
- PMC: ``import_bundle`` of that bundle into backup (verify, automatic backup, stage, load,
  switch, restart, verify).

Export and import each run in a fresh child process whose peak RSS (VmHWM) is reported: the
goal is at most 150 MB, and not growing with the size. Throughput: PMC export against the
OpenSSH tar baseline (goal ≥ 0.8×); best of ``--rounds`` for each.

Run as root: ``.venv/bin/python bench/bench_bundle.py [--data-mb 256 2048] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paramiko

from pmc.bundle.export import ExportOptions, export_bundle
from pmc.bundle.importer import ImportOptions, import_bundle
from pmc.inventory import AuthMethod, Server
from pmc.lab import LabCluster, down, up
from pmc.remote.connection import Connection
from pmc.remote.host_keys import KnownHosts, TrustFingerprints, fingerprint

LAB_ID = "bench-bundle"


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(args: argparse.Namespace) -> int:
    """Runs one export or import in this (fresh) process; prints JSON with time and RSS."""
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

    async def go() -> float:
        started = time.monotonic()
        try:
            if args.child == "export":
                await export_bundle(conn, Path(args.file), ExportOptions())
            else:
                await import_bundle(
                    conn, Path(args.file), ImportOptions(backup_dir=Path(args.work) / "backups")
                )
        finally:
            await conn.close()
        return time.monotonic() - started

    seconds = asyncio.run(go())
    print(json.dumps({"seconds": seconds, "peak_rss_mb": _peak_rss_mb()}))
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


def _run_child(
    lab: LabCluster, work: Path, key: Path, *, what: str, server: str, file: Path
) -> dict[str, float]:
    srv = lab.servers[server]
    argv = [
        "ip", "netns", "exec", lab.operator_namespace, sys.executable, __file__,
        "--child", what, "--server", server, "--address", srv.management_address,
        "--host-key", srv.host_key(), "--key", str(key), "--work", str(work), "--file", str(file),
    ]  # fmt: skip
    out = subprocess.run(argv, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _openssh_tar(lab: LabCluster, work: Path, key: Path, out: Path) -> float:
    srv = lab.servers["main"]
    remote = "tar -C /opt/playout/data -cf - carousel av ts"
    cmd = (
        f"ssh -i {shlex.quote(str(key))} -o BatchMode=yes "
        f"-o UserKnownHostsFile={shlex.quote(str(work / 'known_hosts'))} "
        f"root@{srv.management_address} {shlex.quote(remote)} > {shlex.quote(str(out))}"
    )
    started = time.monotonic()
    lab.operator_run(["sh", "-c", cmd], timeout=3600)
    return time.monotonic() - started


def bench_size(data_mb: int, rounds: int) -> dict[str, float]:
    down(LAB_ID)
    print(f"\n== lab with {data_mb} MB of data per server …", flush=True)
    lab = up(servers=2, state="fresh", data_mb=data_mb, lab_id=LAB_ID)
    try:
        work = Path(tempfile.mkdtemp(prefix="pmc-bench-bundle-", dir="/var/tmp"))
        key = _install_key(lab, work)
        bundle = work / "main.pmcbundle"
        base_times, pmc_times, export_rss = [], [], []
        size = 0
        for _ in range(rounds):
            tar_out = work / "baseline.tar"
            base_times.append(_openssh_tar(lab, work, key, tar_out))
            size = tar_out.stat().st_size
            tar_out.unlink()
            bundle.unlink(missing_ok=True)
            result = _run_child(lab, work, key, what="export", server="main", file=bundle)
            pmc_times.append(result["seconds"])
            export_rss.append(result["peak_rss_mb"])
        imported = _run_child(lab, work, key, what="import", server="backup", file=bundle)
        figures = {
            "data_mb": data_mb,
            "tar_bytes": size,
            "bundle_bytes": bundle.stat().st_size,
            "openssh_tar_s": min(base_times),
            "pmc_export_s": min(pmc_times),
            "ratio": min(base_times) / min(pmc_times),
            "export_peak_rss_mb": max(export_rss),
            "import_s": imported["seconds"],
            "import_peak_rss_mb": imported["peak_rss_mb"],
        }
        subprocess.run(["rm", "-rf", str(work)], check=False)
        return figures
    finally:
        lab.down()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-mb", type=int, nargs="+", default=[256, 2048])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", choices=["export", "import"])
    for name in ("server", "address", "host-key", "key", "work", "file"):
        parser.add_argument(f"--{name}")
    args = parser.parse_args()
    if args.child:
        return child(args)
    if os.geteuid() != 0:
        print("bench_bundle: needs root (the rehearsal lab)", file=sys.stderr)
        return 2
    rows = [bench_size(mb, args.rounds) for mb in args.data_mb]
    print()
    print(
        f"{'data':>8} {'openssh tar':>12} {'pmc export':>11} {'ratio':>6} "
        f"{'MB/s pmc':>9} {'export RSS':>11} {'import':>8} {'import RSS':>11}"
    )
    for r in rows:
        rate = r["tar_bytes"] / r["pmc_export_s"] / 1e6
        print(
            f"{r['data_mb']:>6}MB {r['openssh_tar_s']:>11.2f}s {r['pmc_export_s']:>10.2f}s "
            f"{r['ratio']:>5.2f}x {rate:>9.0f} {r['export_peak_rss_mb']:>9.0f}MB "
            f"{r['import_s']:>7.1f}s {r['import_peak_rss_mb']:>9.0f}MB"
        )
    print("goals: ratio >= 0.80 (PMC export vs OpenSSH tar), peak RSS <= 150 MB, flat with size")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
