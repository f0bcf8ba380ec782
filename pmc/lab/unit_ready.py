"""When a lab service counts as up (:mod:`pmc.lab.supervisor` asks, as systemd would): every
port of the unit bound in the server's network namespace, PostgreSQL ready to accept
connections (not only listening), and its process alive.
"""

from __future__ import annotations

from pathlib import Path


def postgres_accepts(data_dir: str) -> bool:
    """PostgreSQL accepts connections: the status line of its ``postmaster.pid`` says
    "ready" (the moment the real unit, Type=notify, becomes active). It listens on its port
    earlier, while it still answers "the database system is starting up"."""
    try:
        lines = Path(data_dir, "postmaster.pid").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    return len(lines) >= 8 and lines[7].strip() == "ready"


def listening(tcp: tuple[int, ...], udp: tuple[int, ...]) -> bool:
    """True when every port is bound (TCP: listening) in this network namespace."""

    def ports(files: tuple[str, ...], want_state: str | None) -> set[int]:
        found: set[int] = set()
        for name in files:
            try:
                lines = Path(name).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                parts = line.split()
                if want_state is None or parts[3] == want_state:
                    found.add(int(parts[1].rsplit(":", 1)[1], 16))
        return found

    if tcp and not set(tcp) <= ports(("/proc/net/tcp", "/proc/net/tcp6"), "0A"):
        return False
    return not udp or set(udp) <= ports(("/proc/net/udp", "/proc/net/udp6"), None)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (not gone, not a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
