"""Start, stop and look at a lab instance; the objects tests and the CLI hold.

See :mod:`pmc.lab` for the API overview. Nothing secret is written to a file here: the root
passwords live in :class:`LabServer` objects (and, through the CLI, in the keyring); the
instance's ``lab.json`` holds ids, addresses and pids.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pmc.errors import InputError, LabError
from pmc.lab import accounts, flavors, network, postgres_template, server, topology, unit_ready
from pmc.lab.playout import files as playout_files
from pmc.lab.playout import seed as playout_seed
from pmc.lab.running_server import LOGIN_ENV, LabServer, started_server

_T = TypeVar("_T")
CLONE_NEWNET = 0x40000000
BOOT_TIMEOUT = 120.0
# The `ip netns exec` processes started by up() in this process, reaped by down().
_children: dict[str, list[subprocess.Popen[bytes]]] = {}


def check_machine() -> None:
    """Raise LabError naming everything this machine lacks to run the lab. Tools are looked
    up on this process's PATH (``up`` runs them from here) and on the servers' PATH."""
    missing = []
    not_on_path: list[str] = []
    here = os.environ.get("PATH", os.defpath)
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        missing.append("root privileges (run as root)")
    for tool, package in (
        ("ip", "iproute2"), ("unshare", "util-linux"), ("nsenter", "util-linux"),
        ("nft", "nftables"), ("ssh-keygen", "openssh-client"), ("openssl", "openssl"),
        ("runuser", "util-linux"),
    ):  # fmt: skip
        if shutil.which(tool, path=here) is None:
            not_on_path.append(f"`{tool}` ({package})")
        elif shutil.which(tool, path=LOGIN_ENV["PATH"]) is None:
            missing.append(f"`{tool}` ({package}) in {LOGIN_ENV['PATH']}")
    if not_on_path:
        missing.append(", ".join(not_on_path) + f" on PATH ({here or 'empty'})")
    if not Path("/usr/sbin/sshd").exists():
        missing.append("/usr/sbin/sshd (openssh-server)")
    if not Path(postgres_template.PG_BIN, "postgres").exists():
        missing.append(f"PostgreSQL 15 binaries at {postgres_template.PG_BIN} (postgresql-15)")
    if not Path("/proc/self/ns/net").exists():
        missing.append("Linux network namespaces")
    if missing:
        raise LabError(
            "the rehearsal lab cannot run on this machine: it needs " + ", ".join(missing),
            hint="Run it as root on Linux with those installed (see .ci/run for the packages).",
        )


@dataclass
class LabCluster:
    """A running lab instance (see :func:`up`)."""

    lab_id: str
    state: str
    servers: dict[str, LabServer]
    flavor: str = flavors.DEFAULT  # pmc.lab.flavors: debian (the demo's) or rocky

    @property
    def operator_namespace(self) -> str:
        return topology.namespace(self.lab_id, "op")

    @property
    def operator_address(self) -> str:
        return topology.OPERATOR_ADDRESS

    def enter_operator_namespace(self) -> None:
        """Move the calling thread into the operator's network namespace (threads started
        afterwards inherit it). Call it on the main thread before starting worker threads."""
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(str(network.NETNS_DIR / self.operator_namespace), os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise LabError(f"cannot enter the operator namespace: {os.strerror(err)}")
        finally:
            os.close(fd)

    def call_in_operator_namespace(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(*args)`` on a new thread that has entered the operator's namespace (the
        calling thread stays where it is); returns its result or raises its exception."""
        result: list[Any] = []
        error: list[BaseException] = []

        def work() -> None:
            try:
                self.enter_operator_namespace()
                result.append(fn(*args))
            except BaseException as exc:
                error.append(exc)

        thread = threading.Thread(target=work, name="lab-operator")
        thread.start()
        thread.join()
        if error:
            raise error[0]
        return result[0]  # type: ignore[no-any-return]

    def operator_run(
        self, argv: Sequence[str], *, input: str | None = None, check: bool = True,
        timeout: float | None = 300,
    ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """Run ``argv`` in the operator's network namespace (the machine's files)."""
        proc = subprocess.run(
            ["ip", "netns", "exec", self.operator_namespace, *argv],
            input=input, capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip
        if check and proc.returncode != 0:
            raise LabError(
                f"`{' '.join(argv)}` exited with {proc.returncode}: "
                f"{(proc.stderr or proc.stdout).strip()[-2000:]}",
                where="operator",
            )
        return proc

    def block(self, server_name: str, port: int, proto: str = "tcp", mode: str = "reject") -> None:
        self.servers[server_name].block(port, proto, mode)

    def unblock(self, server_name: str, port: int, proto: str = "tcp") -> None:
        self.servers[server_name].unblock(port, proto)

    def down(self) -> None:
        down(self.lab_id)

    def reset(self, seed_rows: int = 300, data_mb: int = 0) -> None:
        """Bring every server back to this lab's starting state (files, database, firewall,
        services; root passwords and host keys kept) without rebuilding the namespaces."""
        servers = list(self.servers.values())
        for srv in servers:
            if not srv.root_password:  # attached without passwords: give root a new one
                srv.root_password = accounts.new_password()
        with concurrent.futures.ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(lambda s: s.request({"op": "stop-all"}), servers))
            trees = dict(zip(
                [s.name for s in servers],
                pool.map(lambda s: server.prepare_tree(self.lab_id, s.spec, s.root_password,
                                                       reset=True, flavor=self.flavor), servers),
                strict=True,
            ))  # fmt: skip
            if self.state == "redundant":
                server.make_redundant(trees, [s.spec for s in servers])
            _install_playout_files(trees, self.state)
            answers = list(pool.map(lambda s: s.request({"op": "boot"}), servers))
            for srv, answer in zip(servers, answers, strict=True):
                for unit in ("sshd", "postgresql", "firewalld"):
                    if answer["units"].get(unit) != "active":
                        raise LabError(f"{unit} did not start after a reset", where=srv.name)
            list(pool.map(lambda s: _seed(s, seed_rows, data_mb), servers))

    def __enter__(self) -> LabCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()


def _status_file(lab: str) -> Path:
    return topology.state_dir(lab) / "lab.json"


def _read_status(lab: str) -> dict[str, Any] | None:
    try:
        data = json.loads(_status_file(lab).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _seed(srv: LabServer, rows: int, data_mb: int) -> None:
    playout_seed.seed(srv.postgres_dsn, rows, server=srv.name, with_schema=True)
    playout_seed.write_data_files(srv.path("/opt/playout/data"), data_mb)


def _install_playout_files(trees: dict[str, Path], state: str) -> None:
    playout_files.install(trees, state)


def up(
    servers: int = 2,
    state: str = "fresh",
    seed_rows: int = 300,
    data_mb: int = 0,
    lab_id: str | None = None,
    *,
    flavor: str = flavors.DEFAULT,
    fleet: bool = False,
) -> LabCluster:
    """Start a lab instance (cleaning up a previous or crashed one with the same id).
    ``fleet``: ``servers`` light servers in main/backup pairs (:func:`topology.fleet_servers`:
    sshd, the API stand-in and the port listeners, no PostgreSQL), for the status bench."""
    lab = topology.lab_id(lab_id)
    specs = topology.fleet_servers(servers) if fleet else topology.servers_for(servers)
    if state not in topology.STATES:
        raise InputError(f"unknown lab state {state!r}", hint="Use --state fresh or redundant.")
    if seed_rows < 0 or data_mb < 0:
        raise InputError("--seed-rows and --data-mb cannot be negative")
    flavors.check(flavor)
    check_machine()
    down(lab)
    base = topology.state_dir(lab)
    base.mkdir(parents=True, mode=0o700)
    try:
        network.create(lab, specs)
        passwords = {s.name: accounts.new_password() for s in specs}
        logins = {s.name: {a: accounts.new_password() for a in accounts.ACCOUNT_NAMES}
                  for s in specs}  # fmt: skip
        if not fleet:
            postgres_template.data_folder()
        with concurrent.futures.ThreadPoolExecutor(min(len(specs), 8)) as pool:
            trees = dict(
                zip(
                    [s.name for s in specs],
                    pool.map(
                        lambda s: server.prepare_tree(
                            lab,
                            s,
                            passwords[s.name],
                            accounts=logins[s.name],
                            flavor=flavor,
                            light=fleet,
                        ),
                        specs,
                    ),
                    strict=True,
                )
            )
        if state == "redundant":
            server.make_redundant(trees, list(specs))
        _install_playout_files(trees, state)
        # a fleet boots in waves: hundreds of stand-ins starting at once on a small machine
        # would miss their start deadlines
        wave = 6 if fleet else len(specs)
        outers: dict[str, subprocess.Popen[bytes]] = {}
        lab_servers: dict[str, LabServer] = {}
        _children[lab] = []
        deadline = time.monotonic() + BOOT_TIMEOUT * max(1, len(specs) // wave)
        for first in range(0, len(specs), wave):
            group = specs[first : first + wave]
            for spec in group:
                outer = server.start(lab, spec, trees[spec.name], base / f"{spec.name}.log",
                                     flavor, light=fleet)  # fmt: skip
                outers[spec.name] = outer
                _children[lab].append(outer)
            for spec in group:
                lab_servers[spec.name] = started_server(
                    lab, spec, outers[spec.name], trees[spec.name], deadline=deadline,
                    password=passwords[spec.name], logins=logins[spec.name],
                )  # fmt: skip
            with concurrent.futures.ThreadPoolExecutor(len(group)) as pool:
                list(pool.map(lambda s: s.wait_boot(outers[s.name], deadline),
                              [lab_servers[g.name] for g in group]))  # fmt: skip
        if not fleet:
            with concurrent.futures.ThreadPoolExecutor(len(specs)) as pool:
                list(pool.map(lambda s: _seed(s, seed_rows, data_mb), lab_servers.values()))
        status = {
            "id": lab,
            "state": state,
            "flavor": flavor,
            "fleet": fleet,
            "started": time.time(),
            "operator": {
                "namespace": topology.namespace(lab, "op"),
                "address": topology.OPERATOR_ADDRESS,
            },
            "servers": {
                name: {
                    "namespace": s.namespace,
                    "role": s.role,
                    "management_address": s.management_address,
                    "redundancy_address": s.redundancy_address,
                    "outer_pid": outers[name].pid,
                    "init_pid": s.init_pid,
                    "files_root": str(s.files_root),
                }
                for name, s in lab_servers.items()
            },
        }
        _status_file(lab).write_text(json.dumps(status, indent=2) + "\n")
        return LabCluster(lab, state, lab_servers, flavor)
    except BaseException:
        down(lab)
        raise


def attach(lab_id: str | None = None) -> LabCluster:
    """The running instance, rebuilt from its status file (root passwords unknown: empty)."""
    lab = topology.lab_id(lab_id)
    data = _read_status(lab)
    if data is None:
        raise LabError(f"no lab {lab!r} is running", hint="Start one with `pmc lab up`.")
    specs = {s.name: s for s in (*topology.ALL_SERVERS, *topology.fleet_servers(64))}
    servers = {
        name: LabServer(lab, specs[name], Path(info["files_root"]), int(info["init_pid"]))
        for name, info in data["servers"].items()
    }
    inodes = _namespace_inodes(lab)
    stopped = sorted(n for n, s in servers.items() if not _in_namespaces(s.init_pid, inodes))
    if stopped:  # its status file outlived it; the pid may be another process's by now
        raise LabError(
            f"lab {lab!r} is not running: its {' and '.join(stopped)} stopped",
            hint=f"Start it again with `pmc lab --id {lab} up`.",
        )
    flavor = str(data.get("flavor", flavors.DEFAULT))
    return LabCluster(lab, str(data.get("state", "fresh")), servers, flavor)


def _namespace_inodes(lab: str) -> set[tuple[int, int]]:
    inodes = set()
    for ns in network.namespaces(lab):
        with contextlib.suppress(OSError):
            st = (network.NETNS_DIR / ns).stat()
            inodes.add((st.st_dev, st.st_ino))
    return inodes


def _in_namespaces(pid: int, inodes: set[tuple[int, int]]) -> bool:
    try:
        st = os.stat(f"/proc/{pid}/ns/net")
    except OSError:
        return False
    return (st.st_dev, st.st_ino) in inodes


def _lab_pids(lab: str) -> list[int]:
    inodes = _namespace_inodes(lab)
    if not inodes:
        return []
    me = os.getpid()
    return [
        int(entry)
        for entry in os.listdir("/proc")
        if entry.isdigit() and int(entry) != me and _in_namespaces(int(entry), inodes)
    ]


def down(lab_id: str | None = None) -> bool:
    """Stop instance ``lab_id`` and remove every trace of it; True if there was one."""
    lab = topology.lab_id(lab_id)
    data = _read_status(lab) or {}
    found = bool(data) or bool(network.namespaces(lab)) or topology.state_dir(lab).exists()
    # Ask each supervisor to stop its services (PostgreSQL shuts down cleanly) ... A status
    # file outlives a lab killed with its test session, and its pids get reused: only a
    # process inside the lab's own network namespaces is that lab's supervisor.
    inodes = _namespace_inodes(lab)
    supervisors = []
    for info in data.get("servers", {}).values():
        with contextlib.suppress(ValueError, TypeError, KeyError):
            if _in_namespaces(int(info["init_pid"]), inodes):
                supervisors.append(int(info["init_pid"]))
    for pid in supervisors:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(unit_ready.alive(pid) for pid in supervisors):
        time.sleep(0.02)
    # ... then end whatever is left in the lab's namespaces (crashed or half-started labs).
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = _lab_pids(lab)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        end = time.monotonic() + 3
        while pids and time.monotonic() < end:
            pids = [p for p in pids if unit_ready.alive(p)]
            time.sleep(0.02)
    # Reap our own children (the `ip netns exec` processes when up() ran in this process).
    for child in _children.pop(lab, []):
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
    network.delete(lab)
    shutil.rmtree(topology.state_dir(lab), ignore_errors=True)
    with contextlib.suppress(OSError):
        topology.RUN_ROOT.rmdir()
    return found


def status(lab_id: str | None = None) -> dict[str, Any] | None:
    """The instance's status file plus each service's state, or None when it is not up."""
    lab = topology.lab_id(lab_id)
    data = _read_status(lab)
    if data is None:
        return None
    cluster = attach(lab)
    for name, srv in cluster.servers.items():
        units: dict[str, str] = {}
        for unit in topology.SERVICES:
            try:
                answer = srv.request({"op": "systemctl", "argv": ["is-active", unit.name]}, 5)
                units[unit.name] = str(answer.get("stdout", "")).strip() or "unknown"
            except OSError:
                units[unit.name] = "unreachable"
        data["servers"][name]["services"] = units
    return data
