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
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
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


@dataclass
class Series:
    """Timed runs of one contender: seconds and the load at the start of each run."""

    name: str
    seconds: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)

    def add(self, seconds: float, load_at_start: float) -> None:
        self.seconds.append(seconds)
        self.loads.append(load_at_start)

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


def ratio(baseline: Series, pmc: Series) -> float:
    """PMC's speed as a multiple of the baseline's (> 1: PMC is faster), on the medians."""
    return baseline.median / pmc.median


def rounds(
    contenders: Sequence[tuple[Series, Callable[[], float]]],
    count: int,
    *,
    flush: bool,
    before: Callable[[], None] | None = None,
) -> None:
    """Run every contender ``count`` times, the order rotated each round; each run is timed
    by the contender itself (it returns its seconds). With ``flush`` the page cache is
    dropped before every run."""
    for index in range(count):
        shift = index % len(contenders)
        order = list(contenders[shift:]) + list(contenders[:shift])
        for series, run in order:
            if before is not None:
                before()
            if flush:
                drop_caches()
            at_start = load()
            series.add(run(), at_start)
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

    def close(self) -> None:
        subprocess.run(
            self.ssh.argv(control=self.socket, options=["-O", "exit"]),
            capture_output=True,
            check=False,
        )
