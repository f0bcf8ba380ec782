"""A connection's limits: its time limits (each error names the one that ran out) and its
worker threads (short control calls never wait behind long commands or transfers)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Timeouts:
    """Time limits in seconds; each error names the one that ran out."""

    connect: float = 10.0  # TCP connection to port 22
    banner: float = 15.0  # the server's SSH banner and key exchange
    auth: float = 30.0  # the login
    channel: float = 15.0  # opening a session or forwarding channel
    command: float | None = 300.0  # default limit of one command
    keepalive_interval: float = 15.0  # how often the link is checked while connected
    keepalive_deadline: float = 10.0  # how long an answer to a check may take
    heartbeat: float = 5.0  # how often the server's session guard hears from PMC
    orphan_after: float = 30.0  # silence after which the guard ends PMC's work on the server


@dataclass
class Executors:
    """Worker threads: short control calls never wait behind long commands or transfers."""

    control: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(16, thread_name_prefix="pmc-ssh-control")
    )
    commands: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(128, thread_name_prefix="pmc-ssh-command")
    )
    transfers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(8, thread_name_prefix="pmc-ssh-transfer")
    )

    def shutdown(self) -> None:
        for pool in (self.control, self.commands, self.transfers):
            pool.shutdown(wait=False, cancel_futures=True)
