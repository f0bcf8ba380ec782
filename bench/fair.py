"""What makes a bench's baseline fair, shared by the benches that compare PMC with OpenSSH.

- **Same cipher**: PMC negotiates ``aes128-gcm@openssh.com`` (AES-NI); OpenSSH left alone
  picks ``chacha20-poly1305@openssh.com``. The fair baseline runs OpenSSH with ``-c`` set to
  the cipher PMC's connection really negotiated; the default-settings baseline is printed
  beside it.
- **Same cache state**: every timed run starts after ``sync`` and dropping the page cache
  (where the machine allows it), or else the order of the contenders alternates each round so
  that none always runs first (right after the lab wrote its data) or always second.
- **Several rounds**: the median is the figure, the spread (min–max) and the machine's load
  (1-minute load average, ``uptime``) are printed beside it: the machine is shared.
- **What the CPU allows**: each run's CPU time on each end (``CpuMeter``: this process and what
  it waited for, OpenSSH's master connection; every process of the lab server) is kept beside
  its wall time, so a bench can say how fast any mode costing that much CPU per byte could go
  on this machine's cores — the ceiling a parallel mode meets where both ends share them.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shlex
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

OPENSSH_DEFAULT_CIPHER = "chacha20-poly1305@openssh.com"


def load() -> float:
    """The 1-minute load average (what ``uptime`` shows first)."""
    return os.getloadavg()[0]


def cores() -> int:
    return os.cpu_count() or 1


def can_drop_caches() -> bool:
    return os.access("/proc/sys/vm/drop_caches", os.W_OK)


def drop_caches() -> bool:
    """``sync; echo 3 > /proc/sys/vm/drop_caches``; False where the machine does not allow it."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User and system time of process ``pid`` and of the children it waited for; 0 if it
    is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # from field 3 (state) on: the name may hold spaces
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / _CLOCK_TICKS


def namespace_processes(netns: Path) -> list[int]:
    """The processes whose network namespace is ``netns`` (e.g. /run/netns/<lab>-main): one
    lab server's sshd, its sessions, its services."""
    wanted = netns.stat().st_ino
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "ns" / "net").stat().st_ino == wanted:
                    found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class Cpu:
    """CPU time (core-seconds) on each end of a transfer: the operator's machine and the
    server."""

    here: float
    server: float

    @property
    def total(self) -> float:
        return self.here + self.server

    def __sub__(self, before: Cpu) -> Cpu:
        return Cpu(self.here - before.here, self.server - before.server)


class CpuMeter:
    """CPU time spent on both ends of a transfer. This end: this process (all its threads),
    the children it waited for, and the processes ``here()`` names (e.g. an OpenSSH master
    connection); the server's end: the processes ``server()`` names at each sample, with the
    children they waited for. A process that ends between two samples counts where it was
    reaped."""

    def __init__(
        self,
        server: Callable[[], Iterable[int]],
        *,
        here: Callable[[], Iterable[int]] = lambda: (),
    ) -> None:
        self.server = server
        self.here = here

    def sample(self) -> Cpu:
        own = resource.getrusage(resource.RUSAGE_SELF)
        waited = resource.getrusage(resource.RUSAGE_CHILDREN)
        mine = own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime
        return Cpu(
            here=mine + sum(process_cpu_seconds(pid) for pid in set(self.here())),
            server=sum(process_cpu_seconds(pid) for pid in set(self.server())),
        )


@dataclass
class Series:
    """Timed runs of one contender: seconds, the load at the start of each run and, where a
    ``CpuMeter`` watched, the CPU time each run spent on both ends."""

    name: str
    seconds: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    cpu: list[Cpu] = field(default_factory=list)

    def add(self, seconds: float, load_at_start: float) -> None:
        self.seconds.append(seconds)
        self.loads.append(load_at_start)

    def cpu_per_gb(self, gigabytes: float, end: Callable[[Cpu], float] | None = None) -> float:
        """Median CPU time (core-seconds) per GB moved, on both ends or on ``end``."""
        pick = end or (lambda cpu: cpu.total)
        return statistics.median(pick(cpu) for cpu in self.cpu) / gigabytes

    def ceiling(self, gigabytes: float, baseline: Series) -> float:
        """The most this contender could reach on this machine's cores, as a multiple of the
        baseline's measured speed: all cores busy with its CPU cost per GB, nothing else."""
        fastest = cores() / self.cpu_per_gb(gigabytes)  # GB/s
        return fastest * baseline.median / gigabytes

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def line(self, megabytes: float | None = None) -> str:
        runs = ", ".join(f"{s:.2f}" for s in self.seconds)
        loads = ", ".join(f"{x:.1f}" for x in self.loads)
        rate = f"{megabytes / self.median:6.0f} MB/s  " if megabytes else ""
        return (
            f"{self.name:<34} median {self.median:7.2f} s  {rate}"
            f"spread {min(self.seconds):.2f}–{max(self.seconds):.2f} s  "
            f"(runs {runs}; load {loads})"
        )


def cpu_lines(contenders: Sequence[Series], baseline: Series, gigabytes: float) -> list[str]:
    """For each contender that a ``CpuMeter`` watched: its CPU time on both ends per GB (the
    median) and on each end, how many of this machine's cores it kept busy, and its ceiling:
    the most it could reach with all the cores busy at that cost, nothing else running (both
    ends of the lab share them), as a multiple of the baseline's measured speed. Each end's
    cost says what the lab's shared cores hide: where the server has cores of its own, only
    this end's cost competes with this machine's other work."""
    lines = []
    for series in contenders:
        if not series.cpu:
            continue
        busy = statistics.median(c.total for c in series.cpu) / series.median
        here = series.cpu_per_gb(gigabytes, lambda c: c.here)
        server = series.cpu_per_gb(gigabytes, lambda c: c.server)
        lines.append(
            f"{series.name:<34} {series.cpu_per_gb(gigabytes):5.2f} core-s/GB (this end "
            f"{here:.2f}, the server {server:.2f}), {busy:.2f} of {cores()} cores busy; "
            f"ceiling {series.ceiling(gigabytes, baseline):.2f}x of {baseline.name}"
        )
    return lines


def ratio(baseline: Series, pmc: Series) -> float:
    """PMC's speed as a multiple of the baseline's (> 1: PMC is faster), on the medians."""
    return baseline.median / pmc.median


@dataclass(frozen=True)
class Timed:
    """A run's seconds, and the CPU time this end spent outside them: a fresh child process
    starts Python and imports PMC before it starts its clock, and that start-up is no more
    part of the transfer's cost than of its time."""

    seconds: float
    outside: float = 0.0


Run = Callable[[], "float | Timed"]


def rounds(
    contenders: Sequence[tuple[Series, Run]],
    count: int,
    *,
    flush: bool,
    before: Callable[[Series], None] | None = None,
    meter: CpuMeter | None = None,
) -> None:
    """Run every contender ``count`` times, the order rotated each round; each run is timed
    by the contender itself (it returns its seconds, or a :class:`Timed`). ``before`` readies
    the machine for a contender's run, untimed and before the page cache is dropped. With
    ``flush`` the page cache is dropped before every run; with ``meter`` each run's CPU time
    is kept too (less what a :class:`Timed` says was spent outside its seconds)."""
    for index in range(count):
        shift = index % len(contenders)
        order = list(contenders[shift:]) + list(contenders[:shift])
        for series, run in order:
            if before is not None:
                before(series)
            if flush:
                drop_caches()
            at_start = load()
            cpu_before = meter.sample() if meter else None
            got = run()
            timed = got if isinstance(got, Timed) else Timed(got)
            series.add(timed.seconds, at_start)
            if meter is not None and cpu_before is not None:
                series.cpu.append(meter.sample() - cpu_before - Cpu(timed.outside, 0.0))
        print(
            f"  round {index + 1}: "
            + ", ".join(f"{s.name} {s.seconds[-1]:.2f} s" for s, _ in contenders)
            + f"  (load {load():.1f})",
            flush=True,
        )


@dataclass(frozen=True)
class OpenSsh:
    """``ssh`` argv for one server: key login, strict host keys, an optional cipher."""

    key: Path
    known_hosts: Path
    address: str
    user: str = "root"

    def argv(
        self, *, cipher: str | None = None, control: Path | None = None, options: Sequence[str] = ()
    ) -> list[str]:
        argv = [
            "ssh", "-i", str(self.key), "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
        ]  # fmt: skip
        if cipher:
            argv += ["-c", cipher]
        if control:
            argv += ["-o", f"ControlPath={control}"]
        return [*argv, *options, f"{self.user}@{self.address}"]

    def line(self, remote: str, *, cipher: str | None = None, control: Path | None = None) -> str:
        """A shell line running ``remote`` on the server (to redirect a file in or out)."""
        return shlex.join([*self.argv(cipher=cipher, control=control), remote])

    def connect_seconds(self, cipher: str | None) -> float:
        """Time of a new connection and login that runs ``true``."""
        started = time.perf_counter()
        subprocess.run([*self.argv(cipher=cipher), "true"], check=True, timeout=60)
        return time.perf_counter() - started

    def negotiated_cipher(self, cipher: str | None) -> str:
        """The cipher a connection really uses (from ``ssh -v``)."""
        out = subprocess.run(
            [*self.argv(cipher=cipher, options=["-v"]), "true"],
            capture_output=True,
            text=True,
            check=True,
        )
        for line in out.stderr.splitlines():
            if "kex: server->client cipher:" in line:
                return line.split("cipher:", 1)[1].split()[0]
        return "unknown"


class ControlMaster:
    """An OpenSSH master connection: sessions over it skip connection set-up and login, as
    PMC's do over its already connected transport."""

    def __init__(self, ssh: OpenSsh, socket: Path, cipher: str | None) -> None:
        self.ssh = ssh
        self.socket = socket
        self.cipher = cipher
        argv = ssh.argv(cipher=cipher, control=socket, options=["-M", "-N", "-f"])
        subprocess.run(argv, check=True, timeout=60)

    def line(self, remote: str) -> str:
        return self.ssh.line(remote, cipher=self.cipher, control=self.socket)

    def pid(self) -> int | None:
        """The master's process (it does the connection's cipher work for every session)."""
        out = subprocess.run(
            self.ssh.argv(control=self.socket, options=["-O", "check"]),
            capture_output=True,
            text=True,
            check=False,
        )
        found = re.search(r"pid=(\d+)", out.stderr + out.stdout)
        return int(found.group(1)) if found else None

    def close(self) -> None:
        subprocess.run(
            self.ssh.argv(control=self.socket, options=["-O", "exit"]),
            capture_output=True,
            check=False,
        )
