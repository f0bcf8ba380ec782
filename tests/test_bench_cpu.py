"""bench/fair.py's CPU accounting: the ceiling a bench prints for a parallel mode is only as
true as the CPU time it counts on both ends, so the meter is checked against real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench import fair

SPIN = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"


def _spin_here(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_the_meter_counts_this_process_and_what_it_waited_for() -> None:
    meter = fair.CpuMeter(lambda: [])
    before = meter.sample()
    _spin_here(0.3)
    subprocess.run([sys.executable, "-c", SPIN], check=True)
    spent = meter.sample() - before
    assert 0.65 <= spent.here < 5.0
    assert spent.server == 0.0


def test_the_meter_counts_another_process_and_the_children_it_reaped() -> None:
    # A shell (not this process) starts a spinner and waits for it: the spinner's time is the
    # shell's children's, as a lab server's sshd reaps the tar it ran for a session.
    shell = subprocess.Popen(
        ["sh", "-c", f'"{sys.executable}" -c "$0"; read -r _', SPIN],
        stdin=subprocess.PIPE,
    )
    try:
        meter = fair.CpuMeter(lambda: [shell.pid])
        deadline = time.monotonic() + 60
        while fair.process_cpu_seconds(shell.pid) < 0.35:  # the spinner ended and was reaped
            assert time.monotonic() < deadline, "the spinner's time never reached its shell"
            time.sleep(0.05)
        # the shell's time is the server's end; this process spent nearly nothing
        assert 0.35 <= meter.sample().server < 5.0
        # named as a process of this end (an OpenSSH master connection), it counts here
        here = fair.CpuMeter(lambda: [], here=lambda: [shell.pid]).sample()
        assert here.server == 0.0
        assert 0.35 <= here.here - fair.CpuMeter(lambda: []).sample().here < 5.0
    finally:
        assert shell.stdin is not None
        shell.stdin.close()
        shell.wait(timeout=60)
    assert fair.process_cpu_seconds(shell.pid) == 0.0  # gone: nothing to count


def test_a_namespace_lists_its_processes() -> None:
    mine = fair.namespace_processes(Path("/proc/self/ns/net"))
    assert os.getpid() in mine


def test_the_ceiling_is_the_cores_over_the_cost_per_gb() -> None:
    # 1 GB in 2 s, 1.5 cores busy
    baseline = fair.Series("OpenSSH", seconds=[2.0], cpu=[fair.Cpu(here=1.0, server=2.0)])
    pmc = fair.Series("PMC", seconds=[2.5], cpu=[fair.Cpu(here=2.5, server=1.5)])  # 4 core-s/GB
    # all cores busy at 4 core-s per GB: cores/4 GB/s, against the baseline's 0.5 GB/s
    assert pmc.ceiling(1.0, baseline) == fair.cores() / 4.0 / 0.5
    assert baseline.cpu_per_gb(1.0) == 3.0


def test_the_cpu_lines_say_each_ends_share() -> None:
    baseline = fair.Series("OpenSSH", seconds=[2.0], cpu=[fair.Cpu(here=1.0, server=2.0)])
    runs = [fair.Cpu(here=h, server=s) for h, s in ((5.0, 1.0), (2.0, 2.0), (3.0, 9.0))]
    pmc = fair.Series("PMC", seconds=[2.0, 2.0, 2.0], cpu=runs)
    line = fair.cpu_lines([fair.Series("not watched", seconds=[1.0]), pmc], baseline, 2.0)
    assert len(line) == 1
    # medians per end over 2 GB: this end 3 of (5, 2, 3), the server 2 of (1, 2, 9); both 6
    assert "3.00 core-s/GB (this end 1.50, the server 1.00), 3.00 of" in line[0]


def test_cpu_spent_outside_a_runs_seconds_is_not_counted() -> None:
    # a child process's start-up (Python, PMC's imports) comes before its clock starts
    def run() -> fair.Timed:
        _spin_here(0.6)
        return fair.Timed(seconds=0.01, outside=0.4)

    series = fair.Series("PMC")
    fair.rounds([(series, run)], 1, flush=False, meter=fair.CpuMeter(lambda: []))
    assert series.seconds == [0.01]
    assert 0.15 <= series.cpu[0].here < 0.5  # 0.6 spent, 0.4 of it outside the seconds


def test_a_contender_is_readied_before_its_run_and_outside_its_cost() -> None:
    # bench_bundle runs an untimed ``tar -x`` before each timed one (its fastest case)
    seen: list[str] = []
    readied = fair.Series("readied")
    plain = fair.Series("plain")

    def before(series: fair.Series) -> None:
        seen.append(f"ready {series.name}")
        if series is readied:
            _spin_here(0.5)

    def run(series: fair.Series) -> fair.Run:
        def timed() -> float:
            seen.append(f"run {series.name}")
            return 0.01

        return timed

    contenders = [(readied, run(readied)), (plain, run(plain))]
    fair.rounds(contenders, 2, flush=False, before=before, meter=fair.CpuMeter(lambda: []))
    assert seen == [
        "ready readied", "run readied", "ready plain", "run plain",  # round 1
        "ready plain", "run plain", "ready readied", "run readied",  # round 2: rotated
    ]  # fmt: skip
    assert readied.seconds == [0.01, 0.01]
    assert all(cpu.here < 0.25 for cpu in readied.cpu)  # the 0.5 s of readying not counted
