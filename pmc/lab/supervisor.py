"""The init process of a lab server: ``python -m pmc.lab.supervisor --server NAME --tree DIR``.

Started by :mod:`pmc.lab.server` as
``ip netns exec NS unshare --mount --uts --ipc --pid --fork --mount-proc … python -m …``, so it
is PID 1 of the server's own PID namespace, inside the server's network and mount namespaces.
It bind-mounts the server's private tree over the seed's paths, then forks: PID 1 reaps every
orphan and forwards SIGTERM; the child runs the services (``topology.SERVICES``) and answers
requests on ``/run/pmc-lab-supervisor.sock`` (one JSON object per connection):

- ``{"op": "systemctl", "argv": [...]}`` / ``{"op": "firewall-cmd", "argv": [...]}`` →
  ``{"rc": int, "stdout": str, "stderr": str}`` (the stand-ins in ``/usr/local/sbin``);
- ``{"op": "wait-boot"}`` → ``{"rc": 0, "units": {name: active-state}}`` once boot is done;
- ``{"op": "block", "port": 22, "proto": "tcp", "mode": "reject"|"drop"}`` and
  ``{"op": "unblock", ...}``: the test helpers' extra nft table ``inet pmc-lab-block``;
- ``{"op": "shutdown"}``: stop every service and exit (SIGTERM does the same).

When PID 1 exits the kernel kills whatever is left in the server, so nothing outlives it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from pmc.lab import flavors, interpreter, topology, unit_ready
from pmc.lab.init_process import ControlSocket, mount_tree, reap_until
from pmc.lab.nft import blocks_ruleset, nft
from pmc.lab.standins import firewall_cmd, systemctl
from pmc.lab.standins.firewall_cmd import ZoneConfig
from pmc.lab.standins.systemctl import UnitState

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_DATA = "/opt/playout/db"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
JOURNAL_DIR = "/run/pmc-lab-journal"
FIREWALL_JSON = "/opt/playout/.lab/firewalld.json"
START_TIMEOUT = {"postgresql": 60.0}
DEFAULT_START_TIMEOUT = 15.0


class Unit:
    """One service: its command, process and systemd-like state."""

    def __init__(
        self,
        name: str,
        argv: list[str] | None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = argv
        self.user = user
        self.stop_signal = stop_signal
        self.state = UnitState(name)
        self.proc: subprocess.Popen[bytes] | None = None
        self.done = threading.Event()  # set when self.proc has exited
        self.stopping = False
        self.output: deque[str] = deque(maxlen=20)
        self.lock = threading.RLock()
        spec = topology.SERVICE_BY_NAME[name]
        self.tcp = spec.tcp_ports
        self.udp = spec.udp_ports


class Supervisor:
    def __init__(
        self, server: str, lab: str, flavor: str = flavors.DEFAULT, *, database: bool = True
    ) -> None:
        self.server = server
        self.lab = lab
        self.flavor = flavor
        self.units: dict[str, Unit] = {}
        self.booted = threading.Event()
        self.fw_lock = threading.RLock()
        self.running = False  # firewalld
        self.permanent = ZoneConfig.load(Path(FIREWALL_JSON))
        self.runtime = self.permanent.copy()
        self.interfaces = sorted(n for n in os.listdir("/sys/class/net") if n.startswith("eth"))
        self.blocks: set[tuple[int, str, str]] = set()
        py = interpreter.python()
        specs: list[tuple[str, list[str] | None, str | None, int]] = [
            ("firewalld", flavors.firewalld_argv(flavor), None, signal.SIGTERM),
            (
                "postgresql",
                [f"{PG_BIN}/postgres", "-D", PG_DATA],
                "postgres",
                signal.SIGINT,  # fast shutdown, as systemd's postgresql unit does
            ),
            ("sshd", ["/usr/sbin/sshd", "-D", "-E", "/var/log/sshd.log"], None, signal.SIGTERM),
            ("playout-api", [py, "-m", "pmc.lab.api_standin"], None, signal.SIGTERM),
        ]
        for name in topology.LISTENER_SERVICES:
            specs.append((name, [py, "-m", "pmc.lab.listeners", name], None, signal.SIGTERM))
        for name, argv, user, sig in specs:
            if name == "postgresql" and not database:
                continue  # a light server (a fleet lab): no PostgreSQL at all
            self.units[name] = Unit(name, argv, user, sig)
        os.makedirs(JOURNAL_DIR, exist_ok=True)

    # -- systemctl's Units protocol -------------------------------------------------------
    def hostname(self) -> str:
        return socket.gethostname()

    def state(self, unit: str) -> UnitState:
        u = self.units[unit]
        with u.lock:
            u.state.output = list(u.output)
            return u.state

    def _event(self, u: Unit, message: str) -> None:
        u.state.events.append((time.time(), message))
        del u.state.events[:-20]

    def _env(self, user: str | None) -> dict[str, str]:
        home = "/var/lib/pgsql" if user == "postgres" else "/root"
        return {
            "PATH": PATH,
            "HOME": home,
            "LANG": "C.UTF-8",
            "USER": user or "root",
            "LOGNAME": user or "root",
            "PYTHONPATH": interpreter.code_root(),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PMC_LAB_ID": self.lab,
            "PMC_LAB_SERVER": self.server,
        }

    def start(self, unit: str) -> bool:
        u = self.units[unit]
        self._notice_death(u)
        with u.lock:
            if u.state.active == "active":
                return True
            spec = topology.SERVICE_BY_NAME[unit]
            self._event(u, f"Starting {spec.description}...")
            if u.argv is None:  # firewalld: no process of its own
                with self.fw_lock:
                    self.permanent = ZoneConfig.load(Path(FIREWALL_JSON))
                    self.runtime = self.permanent.copy()
                    self.running = True
                    ok = self._apply_firewall()
                self._set(u, "active" if ok else "failed", "running" if ok else "failed", None)
                self._event(
                    u,
                    f"Started {spec.description}."
                    if ok
                    else f"Failed to start {spec.description}.",
                )
                return ok
            journal = open(f"{JOURNAL_DIR}/{unit}.log", "ab")  # noqa: SIM115
            try:
                proc = subprocess.Popen(
                    u.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=journal,
                    stderr=subprocess.STDOUT,
                    cwd="/",
                    env=self._env(u.user),
                    user=u.user,
                    group=u.user,
                    extra_groups=[] if u.user else None,
                    start_new_session=True,
                )
            except OSError as exc:
                journal.close()
                u.output.append(str(exc))
                self._failed(u, None, 203)
                return False
            journal.close()
            u.proc = proc
            u.done = done = threading.Event()
            u.stopping = False
            u.state.main_pid = proc.pid
            u.state.command = " ".join(u.argv)
            self._set(u, "activating", "start", time.time())
            threading.Thread(target=self._watch, args=(u, proc, done), daemon=True).start()
        timeout = START_TIMEOUT.get(unit, DEFAULT_START_TIMEOUT)
        ready = None  # the real firewalld has no port: it is ready when it says so
        if unit == "firewalld":
            timeout, ready = flavors.FIREWALLD_START_TIMEOUT, flavors.firewalld_ready
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done.is_set():
                break
            up = ready() if ready else unit_ready.listening(u.tcp, u.udp)
            if up and (unit != "postgresql" or unit_ready.postgres_accepts(PG_DATA)):
                with u.lock:
                    if u.proc is proc and not done.is_set():
                        self._set(u, "active", "running", time.time())
                        self._event(u, f"Started {spec.description}.")
                        return True
            time.sleep(0.02)
        if not done.is_set():  # never became ready: give up like systemd's timeout
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            done.wait()
        with u.lock:
            if u.proc is proc:
                code = proc.returncode if proc.returncode is not None else 1
                self._failed(u, proc.pid, code)
                u.proc = None
        return False

    def _notice_death(self, u: Unit) -> None:
        """A unit still "active" whose main process has just died (``pkill -KILL sshd``) is
        recorded as failed before a start is judged, as systemd handles SIGCHLD before a
        start request: else the start answered "already active" with nothing running."""
        with u.lock:
            proc, done = u.proc, u.done
            if u.state.active != "active" or proc is None or unit_ready.alive(proc.pid):
                return
        done.wait(10)  # the watcher has reaped it: its exit status is known
        with u.lock:
            if u.proc is proc and proc.returncode is not None:
                self._failed(u, proc.pid, proc.returncode)
                u.proc = None

    def _set(self, u: Unit, active: str, sub: str, since: float | None) -> None:
        u.state.active = active
        u.state.sub = sub
        if since is not None or active != u.state.active:
            u.state.since = since if since is not None else time.time()

    def _failed(self, u: Unit, pid: int | None, code: int) -> None:
        spec = topology.SERVICE_BY_NAME[u.name]
        u.state.main_pid = pid
        u.state.exit_status = code if code >= 0 else 128 - code
        u.state.result = "exit-code" if code >= 0 else "signal"
        self._set(u, "failed", "failed", time.time())
        self._tail(u)
        self._event(u, f"{u.name}.service: Main process exited, code=exited, status={code}")
        self._event(u, f"{u.name}.service: Failed with result '{u.state.result}'.")
        self._event(u, f"Failed to start {spec.description}.")

    def _tail(self, u: Unit) -> None:
        try:
            lines = Path(f"{JOURNAL_DIR}/{u.name}.log").read_text(errors="replace").splitlines()
        except OSError:
            return
        u.output.clear()
        u.output.extend(lines[-20:])

    def _watch(self, u: Unit, proc: subprocess.Popen[bytes], done: threading.Event) -> None:
        code = proc.wait()
        done.set()
        with u.lock:
            if u.proc is not proc or u.stopping:
                return
            if u.state.active == "active":
                if code == 0:
                    self._set(u, "inactive", "dead", time.time())
                else:
                    self._failed(u, proc.pid, code)

    def stop(self, unit: str) -> None:
        u = self.units[unit]
        spec = topology.SERVICE_BY_NAME[unit]
        with u.lock:
            if u.argv is None:
                with self.fw_lock:
                    self.running = False
                    nft("delete table inet firewalld\n", ignore=True)
                if u.state.active == "active":
                    self._event(u, f"Stopped {spec.description}.")
                self._set(u, "inactive", "dead", time.time())
                return
            proc = u.proc
            if proc is None or u.done.is_set():
                if u.state.active != "failed":
                    self._set(u, "inactive", "dead", time.time())
                return
            u.stopping = True
            self._event(u, f"Stopping {spec.description}...")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, u.stop_signal)
            if not u.done.wait(20):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                u.done.wait()
            # sshd's session processes live on, as with KillMode=process; the rest go.
            if unit != "sshd":
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            u.proc = None
            self._set(u, "inactive", "dead", time.time())
            self._event(u, f"Stopped {spec.description}.")

    # -- firewalld --------------------------------------------------------------------------
    def _apply_firewall(self) -> bool:
        return nft(firewall_cmd.nft_ruleset(self.runtime))

    def save_permanent(self) -> None:
        path = Path(FIREWALL_JSON)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.permanent.to_json())
        tmp.replace(path)

    def apply(self) -> None:
        if self.running:
            self._apply_firewall()

    # -- requests ---------------------------------------------------------------------------
    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        argv = [str(a) for a in request.get("argv", [])]
        if op == "systemctl":
            self.booted.wait(120)
            rc, out, err = systemctl.run(argv, self)
            return {"rc": rc, "stdout": out, "stderr": err}
        if op == "firewall-cmd":
            self.booted.wait(120)
            with self.fw_lock:
                rc, out, err = firewall_cmd.run(argv, self)
            return {"rc": rc, "stdout": out, "stderr": err}
        if op == "wait-boot":
            self.booted.wait(float(request.get("timeout", 120)))
            return {
                "rc": 0 if self.booted.is_set() else 1,
                "units": {n: u.state.active for n, u in self.units.items()},
            }
        if op in ("block", "unblock"):
            key = (
                int(request["port"]),
                str(request.get("proto", "tcp")),
                str(request.get("mode", "reject")),
            )
            with self.fw_lock:
                if op == "block":
                    self.blocks.add(key)
                else:
                    self.blocks = {b for b in self.blocks if b[:2] != key[:2]}
                ok = nft(blocks_ruleset(self.blocks))
            return {"rc": 0 if ok else 1, "stdout": "", "stderr": ""}
        if op == "stop-all":  # for a reset: every service and every other process ends
            for name in reversed(list(self.units)):
                self.stop(name)
            self._kill_others()
            with self.fw_lock:
                self.blocks.clear()
                nft("delete table inet pmc-lab-block\n", ignore=True)
            for u in self.units.values():
                u.state = UnitState(u.name)
            self.booted.clear()
            return {"rc": 0, "stdout": "", "stderr": ""}
        if op == "boot":
            self.boot()
            return {"rc": 0, "units": {n: u.state.active for n, u in self.units.items()}}
        if op == "shutdown":
            threading.Thread(target=self.shutdown, daemon=True).start()
            return {"rc": 0, "stdout": "", "stderr": ""}
        return {"rc": 2, "stdout": "", "stderr": f"unknown request {op!r}\n"}

    def boot(self) -> None:
        order = ["firewalld", "postgresql", "sshd", "playout-api", *topology.LISTENER_SERVICES]
        threads = []
        for name in order:
            if name not in self.units:
                continue
            if name in ("firewalld", "postgresql"):
                self.start(name)  # the API may need the database, everything the firewall
            else:
                t = threading.Thread(target=self.start, args=(name,), daemon=True)
                t.start()
                threads.append(t)
        for t in threads:
            t.join()
        self.booted.set()

    def _kill_others(self) -> None:
        me = os.getpid()
        for _ in range(3):
            others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
            for pid in others:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if not others:
                return
            time.sleep(0.05)

    def shutdown(self) -> None:
        for name in reversed(list(self.units)):
            with contextlib.suppress(Exception):
                self.stop(name)
        os._exit(0)


def _serve(server: str, lab: str, flavor: str, database: bool) -> None:
    sup = Supervisor(server, lab, flavor, database=database)
    signal.signal(signal.SIGTERM, lambda *_: sup.shutdown())
    signal.signal(signal.SIGINT, lambda *_: sup.shutdown())
    listener = ControlSocket(topology.SUPERVISOR_SOCKET, sup)
    threading.Thread(target=sup.boot, daemon=True).start()
    listener.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pmc.lab.supervisor")
    parser.add_argument("--server", required=True)
    parser.add_argument("--lab", required=True)
    parser.add_argument("--tree", required=True, type=Path)
    parser.add_argument("--flavor", choices=flavors.FLAVORS, default=flavors.DEFAULT)
    parser.add_argument("--no-database", action="store_true", help="a light server: no PostgreSQL")
    args = parser.parse_args(argv)
    socket.sethostname(args.server)
    mount_tree(args.tree)
    os.chdir("/root")
    sys.stdout.flush()
    child = os.fork()
    if child == 0:
        try:
            _serve(args.server, args.lab, args.flavor, not args.no_database)
        finally:
            os._exit(1)
    return reap_until(child)


if __name__ == "__main__":
    sys.exit(main())
