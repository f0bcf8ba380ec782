"""pmc.status: the probe commands really detect open, closed and silent ports (run here by
bash, as a server would run them), links follow the seed's diagram, and a cluster's probes
come back typed with their check time and error."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmc.cluster_lock import Holder
from pmc.errors import RemoteError
from pmc.inventory import Architecture, Cluster, Role, Server
from pmc.port_probes import parse_port_lines, tcp_probe_command, udp_probe_command
from pmc.probes import probe_cluster, probe_lock
from pmc.snmp import snmp_packet
from pmc.status import CommandOutcome, Health, LinkKind, links_of

COMBINED = Cluster(
    "studio",
    Architecture.COMBINED,
    (
        Server("main", "127.0.0.1", "127.0.0.2", Role.MAIN),
        Server("backup", "127.0.0.3", "127.0.0.4", Role.BACKUP),
    ),
)


class LocalRunner:
    """Runs the probe command with bash on this machine, as a server runs it over SSH."""

    def __init__(self, unreachable: set[str] | None = None) -> None:
        self.unreachable = unreachable or set()
        self.commands: list[tuple[str, str]] = []

    async def run(self, server: Server, command: str, *, timeout: float) -> CommandOutcome:
        if server.name in self.unreachable:
            raise RemoteError("no route to host", server=server.name)
        self.commands.append((server.name, command))
        done = await asyncio.to_thread(
            subprocess.run, ["bash", "-c", command], capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        return CommandOutcome(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def tcp_listener() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def snmp_agent() -> Iterator[tuple[int, list[bytes]]]:
    """A UDP socket that answers every datagram, like an SNMP agent."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(2048)
            except TimeoutError:
                continue
            seen.append(data)
            sock.sendto(b"\x30\x03\x02\x01\x01", peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1], seen
    stop.set()
    thread.join()
    sock.close()


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tcp_probe_tells_open_from_closed(tcp_listener: int) -> None:
    closed = _free_port()
    out = subprocess.run(
        ["bash", "-c", tcp_probe_command("127.0.0.1", [tcp_listener, closed])],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    result = parse_port_lines(out, [tcp_listener, closed])
    assert result[tcp_listener] == (True, "")
    assert result[closed] == (False, "refused")


def test_udp_probe_sends_snmp_and_needs_an_answer(snmp_agent) -> None:
    port, seen = snmp_agent
    silent = _free_port(socket.SOCK_DGRAM)
    out = subprocess.run(
        ["bash", "-c", udp_probe_command("127.0.0.1", [port, silent], timeout=1)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    result = parse_port_lines(out, [port, silent])
    assert result[port][0] is True
    assert result[silent][0] is False
    assert seen and seen[0] == snmp_packet(0xA0, request_id=1)


def test_snmp_packet_is_a_v2c_get_of_sysdescr() -> None:
    assert snmp_packet(0xA0).hex() == (
        "302602010104067075626c6963a019020101020100020100300e300c06082b060102010101000500"
    )


def test_links_follow_the_seed_diagram() -> None:
    kinds = [(link.kind, link.source, link.target, link.ports) for link in links_of(COMBINED)]
    assert (LinkKind.REDUNDANCY, "main", "backup", (22,)) in kinds
    assert (LinkKind.HTTP, "main", "backup", (80,)) in kinds
    assert (LinkKind.TCP, "main", "backup", (22, 2001, 5555)) in kinds
    assert (LinkKind.UDP, "main", "backup", (161, 162)) in kinds
    assert [k for k in kinds if k[0] is LinkKind.MANAGEMENT] == [
        (LinkKind.MANAGEMENT, None, "main", (22,)),
        (LinkKind.MANAGEMENT, None, "backup", (22,)),
    ]
    cluster = Cluster(
        "b",
        Architecture.ADMIN_PLAYER,
        (
            Server("p1", "127.0.0.5", role=Role.PLAYER),
            Server("admin", "127.0.0.6", role=Role.ADMIN),
            Server("p2", "127.0.0.7", role=Role.PLAYER),
        ),
    )
    sources = {link.source for link in links_of(cluster) if link.kind is LinkKind.TCP}
    assert sources == {"admin"}


def test_probe_cluster_is_typed_and_reports_unreachable_servers() -> None:
    runner = LocalRunner(unreachable={"backup"})
    status = asyncio.run(probe_cluster(COMBINED, runner))
    assert set(status.servers) == {"main", "backup"}
    assert set(status.links) == {link.key for link in links_of(COMBINED)}
    backup = status.servers["backup"]
    assert backup.reachable.health is Health.DOWN
    assert "no route to host" in (backup.reachable.error or "")
    assert status.links["management:operator:backup"].health is Health.DOWN
    main = status.servers["main"]
    assert main.reachable.health is Health.UP
    assert main.api.checked is not None
    # nothing listens on 127.0.0.3:2001 here: the TCP link is down with the port named
    tcp = status.links["tcp:main:backup"]
    assert tcp.health is Health.DOWN
    assert "2001" in (tcp.error or "")
    # probes of backup's PostgreSQL run on its peer (main), over eth2
    assert any(name == "main" and "127.0.0.4" in cmd for name, cmd in runner.commands)


class HeldRunner:
    """Every command waits until :attr:`release` is set; counts the ones asked and running."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.asked: list[str] = []
        self.running = 0

    async def run(self, server: Server, command: str, *, timeout: float) -> CommandOutcome:
        self.asked.append(command)
        self.running += 1
        try:
            await self.release.wait()
        finally:
            self.running -= 1
        return CommandOutcome(0, "", "")


async def _turns(count: int = 50) -> None:
    """Let the loop run ``count`` turns (every ready task gets its go; no waiting on time)."""
    for _ in range(count):
        await asyncio.sleep(0)


def test_a_cancelled_probe_of_a_cluster_leaves_no_command_behind() -> None:
    """A refresh cancelled (the poller stopped, another cluster chosen) takes every probe
    with it, the SSH check too: none runs on and asks its server anything later (one that
    did connected behind the operator's Connect, met the changed host key first and warned
    a second time)."""

    async def main() -> None:
        runner = HeldRunner()
        probing = asyncio.ensure_future(probe_cluster(COMBINED, runner))
        await _turns()
        assert runner.asked.count("true") == 2  # both SSH checks under way
        probing.cancel()
        done, _ = await asyncio.wait({probing}, timeout=10)
        assert done == {probing} and probing.cancelled()
        assert runner.running == 0  # every command cancelled with the refresh
        asked = len(runner.asked)
        runner.release.set()
        await _turns()
        assert len(runner.asked) == asked  # and nothing asked after it

    asyncio.run(main())


@pytest.fixture
def run_folder() -> Iterator[Path]:
    """A folder of this test below /run, where a server's pmc_run_dir must lie (pmc.layout)."""
    for base in ("/run", os.environ.get("XDG_RUNTIME_DIR", "")):
        if base.startswith("/run") and os.access(base, os.W_OK):
            folder = Path(tempfile.mkdtemp(prefix="pmc-test-lock-", dir=base))
            break
    else:
        pytest.skip("no writable folder below /run")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_the_lock_probe_names_a_living_holder_only(run_folder: Path) -> None:
    """The status view's read of the cluster lock (pmc.probes.probe_lock), run by bash as a
    server runs it: a holder whose process lives is named; a file left behind by a holder
    that ended (a dead lock) names nobody."""
    server = Server(
        "backup", "127.0.0.3", None, Role.BACKUP, layout_overrides={"pmc_run_dir": str(run_folder)}
    )
    holder = Holder("alice", "desk-1", "1.0", "import into backup", 1_700_000_000.0, 7)
    # the server's holding process: its command line says pmc-lock, as HOLD_SCRIPT's does
    alive = subprocess.Popen(["bash", "-c", "sleep 600; exit", "pmc-lock"], start_new_session=True)
    try:
        text = "\n".join([*holder.lines(), f"server_pid={alive.pid}"]) + "\n"
        (run_folder / "cluster.lock").write_text(text)
        assert asyncio.run(probe_lock(LocalRunner(), server)) == holder
    finally:
        os.killpg(alive.pid, signal.SIGKILL)  # bash and its sleep (left for 10 minutes before)
        alive.wait()
    assert asyncio.run(probe_lock(LocalRunner(), server)) is None
    (run_folder / "cluster.lock").write_text("")
    assert asyncio.run(probe_lock(LocalRunner(), server)) is None


def test_port_lines_a_probe_garbled_are_no_answer() -> None:
    """A port that is a digit int() cannot read (², ①) or thousands of digits long: before,
    ValueError ended the whole refresh."""
    out = "² up\n①① up\n" + "9" * 5000 + " up\n22 up\n"
    assert parse_port_lines(out, [22, 2]) == {
        22: (True, ""),
        2: (False, "no answer from the probe"),
    }
