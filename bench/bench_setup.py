"""Wall time from a fresh lab to verified combined redundancy, beside the seed's manual work.

Run as root: ``.venv/bin/python bench/bench_setup.py``. Goal: under 60 s (lab start included
separately). The baseline is the number of commands and edits an operator types by hand for
the same result, counted from the vendor's manual (listed below).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pmc.inventory import Architecture
from pmc.jobs import Job
from pmc.lab import control
from pmc.setup import make_plan
from pmc.setup.apply import apply_plan
from pmc.setup.observe import observe_cluster
from pmc.setup.verify import verify
from tests.setup.labkit import connections, in_lab, lab_cluster, lab_pool

# The seed's manual steps for web redundancy both ways + database replication, per server.
MANUAL = [
    *[
        f"{s}: {c}"
        for s in ("main", "backup")
        for c in (
            "nano /opt/playout/api/config/spoolers.json",
            "nano /opt/playout/api/config/replicate.conf",
            "systemctl restart playout-api.service",
            "systemctl status playout-api.service",
            "tail -10 /var/log/playout-api.log",
            "edit /opt/playout/db/pg_hba.conf",
            "firewall-cmd --list-all",
            "edit /opt/playout/db/postgresql.conf (listen_addresses)",
            "systemctl restart postgresql",
            "edit /etc/ssh/sshd_config (PermitRootLogin)",
            "systemctl restart sshd",
            "cd",
            "ssh-keygen -t rsa",
            "mkdir -p /root/.ssh",
            "cat /root/.ssh/id_rsa.pub | ssh root@PEER 'cat >> /root/.ssh/authorized_keys'",
            "ssh root@PEER (test)",
        )
    ],
    "backup: /opt/playout/bin/check_failover.sh 172.17.59.128",
    "main: /opt/playout/bin/copy_config.sh 172.17.59.128 172.17.59.129",
]


def main() -> None:
    t0 = time.perf_counter()
    lab = control.up(servers=2, state="fresh", lab_id="benchsetup")
    t_lab = time.perf_counter() - t0
    try:
        cluster = lab_cluster(lab, Architecture.COMBINED)
        pool = lab_pool(lab, Path(tempfile.mkdtemp(prefix="pmc-bench-setup-")))

        async def work() -> tuple[float, float, float, bool, bool]:
            conns = connections(pool, cluster)
            a = time.perf_counter()
            plan = make_plan(cluster, await observe_cluster(cluster, conns))
            b = time.perf_counter()
            await Job("setup", "apply", lambda ctx: apply_plan(plan, cluster, conns, ctx)).run()
            c = time.perf_counter()
            report = await verify(cluster, conns, end_to_end_check=True)
            d = time.perf_counter()
            second = make_plan(cluster, await observe_cluster(cluster, conns))
            return b - a, c - b, d - c, report.ok, second.is_empty

        t_plan, t_apply, t_verify, ok, empty = in_lab(lab, work)
    finally:
        lab.down()
    total = t_plan + t_apply + t_verify
    print(f"lab start (not counted):          {t_lab:6.1f} s")
    print(f"observe + plan:                   {t_plan:6.1f} s")
    print(f"apply ({'ok'}):                      {t_apply:6.1f} s")
    print(
        f"verify incl. copy config:         {t_verify:6.1f} s  ({'all pass' if ok else 'FAILED'})"
    )
    print(f"fresh lab -> verified combined:   {total:6.1f} s  (goal < 60 s)")
    print(f"second plan empty:                {empty}")
    print(f"baseline: the seed's manual procedure needs {len(MANUAL)} commands/edits by hand:")
    for line in MANUAL:
        print(f"   {line}")


if __name__ == "__main__":
    main()
