"""One running lab server as tests and the CLI hold it: its addresses, its private files, commands
in its namespaces as root, requests to its supervisor, its accounts' passwords (held in memory
only) and the test helpers' port blocks; and the wait for it to start (its PID 1, then its
services); the helpers that make its systemctl misbehave on purpose."""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmc.errors import InputError, LabError
from pmc.lab import accounts, server, topology
from pmc.lab.standins import request as supervisor_request
from pmc.lab.topology import ServerSpec

LOGIN_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "USER": "root",
    "LOGNAME": "root",
    "SHELL": "/bin/bash",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
}


@dataclass
class LabServer:
    """One running lab server. Passwords are only ever held in memory: root's, and those of
    the ordinary accounts ``operator`` (passwordless sudo) and ``viewer`` (no sudo)."""

    lab_id: str
    spec: ServerSpec
    files_root: Path
    init_pid: int
    root_password: str = field(repr=False, default="")
    operator_password: str = field(repr=False, default="")
    viewer_password: str = field(repr=False, default="")

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def role(self) -> str:
        return self.spec.role

    @property
    def management_address(self) -> str:
        return self.spec.management_address

    @property
    def redundancy_address(self) -> str | None:
        return self.spec.redundancy_address

    @property
    def namespace(self) -> str:
        return topology.namespace(self.lab_id, self.name)

    @property
    def postgres_dsn(self) -> str:
        """libpq DSN for this server's ``playout`` database over its Unix socket (from the
        host's namespaces: the socket folder is visible in the private tree)."""
        return f"dbname=playout user=postgres host={self.files_root}/run/postgresql"

    def path(self, server_path: str) -> Path:
        """Host path of ``server_path`` as this server sees it (e.g. ``/opt/playout/bin``)."""
        mapped = (
            ("/var/run/", "run/"), ("/run/", "run/"), ("/opt/", "opt/"), ("/etc/", "etc/"),
            ("/home/", "home/"), ("/root/", "root/"), ("/var/log/", "var/log/"),
            ("/usr/local/sbin/", "usr/local/sbin/"), ("/tmp/", "tmp/"),  # noqa: S108
        )  # fmt: skip
        for prefix, sub in mapped:
            if server_path == prefix.rstrip("/") or server_path.startswith(prefix):
                return self.files_root / (sub + server_path[len(prefix) :]).rstrip("/")
        raise InputError(f"{server_path} is not private to a lab server", where=self.name)

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        check: bool = True,
        timeout: float | None = 300,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` as root inside this server (its network, mount, PID, UTS namespaces),
        with a login-like environment in /root. For test set-up and inspection."""
        nsenter = [
            "nsenter", "-t", str(self.init_pid), "-m", "-u", "-i", "-n", "-p", "--wd=/root",
            "--", "env", "-i", *(f"{k}={v}" for k, v in LOGIN_ENV.items()), *argv,
        ]  # fmt: skip
        proc = subprocess.run(nsenter, input=input, capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip
        if check and proc.returncode != 0:
            raise LabError(
                f"`{' '.join(argv)}` exited with {proc.returncode}: "
                f"{(proc.stderr or proc.stdout).strip()[-2000:]}",
                where=self.name,
            )
        return proc

    def request(self, message: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
        """Send one request to this server's supervisor (see :mod:`pmc.lab.supervisor`)."""
        return supervisor_request(
            message, path=str(self.path(topology.SUPERVISOR_SOCKET)), timeout=timeout
        )

    def wait_boot(self, outer: subprocess.Popen[bytes], deadline: float) -> None:
        """Wait until this server's supervisor (started as ``outer``) answers and its services
        are up, by ``deadline`` (time.monotonic()); LabError with its log or journal if not."""
        sock = self.path(topology.SUPERVISOR_SOCKET)
        while not sock.exists():
            if outer.poll() is not None:
                log = topology.state_dir(self.lab_id) / f"{self.name}.log"
                text = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                raise LabError(f"the supervisor exited at start: {text.strip()}", where=self.name)
            if time.monotonic() > deadline:
                raise LabError("the supervisor did not start in time", where=self.name)
            time.sleep(0.02)
        answer = self.request({"op": "wait-boot", "timeout": max(deadline - time.monotonic(), 1)})
        if answer.get("rc") != 0:
            raise LabError("the server's services did not start in time", where=self.name)
        for unit in ("sshd", "postgresql", "firewalld"):
            if unit in answer["units"] and answer["units"][unit] != "active":
                journal = self.path(f"/run/pmc-lab-journal/{unit}.log")
                tail = journal.read_text(errors="replace")[-800:] if journal.exists() else ""
                raise LabError(f"{unit} did not start: {tail.strip()}", where=self.name)

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``systemctl ARGS`` on this server (through its supervisor, without a shell)."""
        answer = self.request({"op": "systemctl", "argv": list(args)})
        return subprocess.CompletedProcess(
            ["systemctl", *args], int(answer["rc"]), str(answer["stdout"]), str(answer["stderr"])
        )

    def wrap_systemctl(self, script: str) -> Callable[[], None]:
        """The shell lines ``script`` run before the lab's systemctl stand-in on this server,
        ``$unit`` being the unit of ``systemctl VERB [--] UNIT``; the stand-in runs after them
        unless they exit. Returns what puts the stand-in back (a lab reset rewrites it too)."""
        stand_in = self.path("/usr/local/sbin/systemctl")
        real = stand_in.with_name("systemctl.real")
        stand_in.rename(real)
        stand_in.write_text(
            "#!/bin/sh\n"
            'unit=$2; [ "$unit" = -- ] && unit=$3\n'
            + script
            + 'exec /usr/local/sbin/systemctl.real "$@"\n'
        )
        stand_in.chmod(0o755)

        def restore() -> None:
            real.replace(stand_in)

        return restore

    def fail_next_restart(self, unit: str, said: str) -> Callable[[], None]:
        """The next ``systemctl restart UNIT`` on this server fails, saying ``said`` on its
        standard error, as a unit that will not start does; the file /tmp/pmc-sabotage on the
        server is gone once it did. Returns what puts systemctl back (see
        :meth:`wrap_systemctl`)."""
        restore = self.wrap_systemctl(
            f'if [ "$1" = restart ] && [ "$unit" = {shlex.quote(unit)} ]'
            " && [ -e /tmp/pmc-sabotage ]; then rm -f /tmp/pmc-sabotage;"
            f" echo {shlex.quote(said)} >&2; exit 1; fi\n"
        )
        self.path("/tmp/pmc-sabotage").write_text("1\n")  # noqa: S108 (in the server's tree)
        return restore

    def host_key(self, kind: str = "ed25519") -> str:
        """This server's public host key line (``ssh-ed25519 AAAA… root@main``)."""
        return (self.files_root / f"etc/ssh/ssh_host_{kind}_key.pub").read_text().strip()

    def block(self, port: int, proto: str = "tcp", mode: str = "reject") -> None:
        """Make ``port`` unreachable on this server (an extra nft table; the firewall is
        untouched). ``mode`` "reject" answers with a reset, "drop" stays silent."""
        if proto not in ("tcp", "udp") or mode not in ("reject", "drop"):
            raise InputError(f"cannot block {port}/{proto} ({mode})", where=self.name)
        answer = self.request({"op": "block", "port": int(port), "proto": proto, "mode": mode})
        if answer.get("rc") != 0:
            raise LabError(f"blocking {port}/{proto} failed", where=self.name)

    def unblock(self, port: int, proto: str = "tcp") -> None:
        answer = self.request({"op": "unblock", "port": int(port), "proto": proto})
        if answer.get("rc") != 0:
            raise LabError(f"unblocking {port}/{proto} failed", where=self.name)

    def set_root_password(self, password: str | None = None) -> str:
        """Give root a new password (a random one by default); returns it."""
        self.root_password = password or accounts.new_password()
        accounts.write_shadow(self.files_root, self.root_password)
        return self.root_password

    def password_of(self, user: str) -> str:
        """The password of ``root``, ``operator`` or ``viewer`` (empty when attached)."""
        if user == "root":
            return self.root_password
        if user not in accounts.ACCOUNT_NAMES:
            raise InputError(f"{user!r} is not a lab account", where=self.name)
        return str(getattr(self, f"{user}_password"))

    def set_account_password(self, user: str, password: str | None = None) -> str:
        """Give ``operator`` or ``viewer`` a new password (a random one by default)."""
        if user not in accounts.ACCOUNT_NAMES:
            raise InputError(f"{user!r} is not a lab account", where=self.name)
        if not self.root_password:
            raise LabError("root's password is not known here (attached lab)", where=self.name)
        new = password or accounts.new_password()
        accounts.write_shadow(self.files_root, self.root_password, {user: new})
        setattr(self, f"{user}_password", new)
        return new


def started_server(
    lab: str,
    spec: ServerSpec,
    outer: subprocess.Popen[bytes],
    tree: Path,
    *,
    deadline: float,
    password: str,
    logins: dict[str, str],
) -> LabServer:
    """The server that :func:`pmc.lab.server.start` started as ``outer``, once its namespaces'
    PID 1 is there (its services may still be starting: :meth:`LabServer.wait_boot`)."""
    pid = None
    while pid is None:
        pid = server.init_pid(outer.pid)
        if pid is None:
            if outer.poll() is not None or time.monotonic() > deadline:
                raise LabError("the server's namespaces did not start", where=spec.name)
            time.sleep(0.01)
    return LabServer(lab, spec, tree, pid, password, operator_password=logins["operator"],
                     viewer_password=logins["viewer"])  # fmt: skip
