"""PID 1 of a lab server (:mod:`pmc.lab.supervisor` runs it): the server's private tree bound
over the seed's paths, every orphan reaped until the supervisor's own process ends, and the
supervisor's control socket."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socketserver
from pathlib import Path
from typing import Any, Protocol

from pmc.lab import interpreter

MS_BIND = 4096
MS_REC = 16384


class Answers(Protocol):
    def handle(self, request: dict[str, Any]) -> dict[str, Any]: ...


# (tree sub-path, mount point) in the order they are mounted; /run and /tmp last, as the tree
# itself lives under /run on the host. Folders only, never single files (pmc.lab.accounts says
# why): the server's /etc is a folder of its own.
BINDS = (
    ("opt", "/opt"),
    ("etc", "/etc"),
    ("home", "/home"),
    ("root", "/root"),
    ("var/log", "/var/log"),
    ("usr/local/sbin", "/usr/local/sbin"),
    ("tmp", "/tmp"),  # noqa: S108 (a private /tmp per server)
    ("run", "/run"),
)


def mount_bind(source: str, target: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(source.encode(), target.encode(), None, MS_BIND | MS_REC, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bind mount {source} on {target}: {os.strerror(err)}")


def mount_tree(tree: Path) -> None:
    """Bind the private tree over the seed's paths (in this private mount namespace)."""
    needed = interpreter.paths_to_keep()
    for sub, target in BINDS:
        source = tree / sub
        # Keep what Python needs visible if this mount would hide it (e.g. pyenv under /root).
        for path in needed:
            if path.startswith(target.rstrip("/") + "/"):
                inner = source / os.path.relpath(path, target)
                inner.mkdir(parents=True, exist_ok=True)
                mount_bind(path, str(inner))
        mount_bind(str(source), target)


def reap_until(child: int) -> int:
    """PID 1: reap every process, forward SIGTERM/SIGINT, exit with the child's status."""

    def forward(sig: int, _frame: Any) -> None:
        os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        if pid == child:
            return os.waitstatus_to_exitcode(status) & 0xFF


class _Handler(socketserver.StreamRequestHandler):
    server: ControlSocket

    def handle(self) -> None:
        try:
            request = json.loads(self.rfile.readline() or b"{}")
            answer = self.server.supervisor.handle(request)
        except Exception as exc:  # an answer, not a dead supervisor
            answer = {"rc": 1, "stdout": "", "stderr": f"lab supervisor: {exc}\n"}
        self.wfile.write(json.dumps(answer).encode())


class ControlSocket(socketserver.ThreadingUnixStreamServer):
    """The supervisor's socket: one JSON request per connection, its answer back (an error is
    an answer, not a dead supervisor)."""

    daemon_threads = True

    def __init__(self, path: str, supervisor: Answers) -> None:
        self.supervisor = supervisor
        staging = f"{path}.new"
        for stale in (path, staging):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)
        super().__init__(staging, _Handler)  # binds and listens
        os.chmod(staging, 0o600)
        os.rename(staging, path)  # appears only once it accepts connections
