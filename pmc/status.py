"""Live cluster status: the probes behind the status table and the topology's links.

Everything here runs *on the servers*, through a :class:`CommandRunner` (PMC's SSH transport
in the app and the CLI, anything that runs a shell command in tests): the operator's desktop
is not on the redundancy network, so "can main reach backup's PostgreSQL over eth2" is asked
of main itself. Probes need only what a minimal Rocky 8 server has: bash (its ``/dev/tcp``
and ``/dev/udp``), coreutils ``timeout``, ``systemctl``, and ``psql`` (installed with
Playout). For the SNMP probes a Python is used when present — ``python3``, or Rocky 8's
``/usr/libexec/platform-python`` which dnf itself needs — and bash ``/dev/udp`` otherwise.

All probes of a cluster run concurrently; each result is typed, carries the time of its check
and, when something failed, the error an operator reads in a tooltip.
"""

from __future__ import annotations

import asyncio
import math
import shlex
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from pmc.cluster_lock import PROBE_SCRIPT, Holder
from pmc.errors import PmcError
from pmc.inventory import Cluster, Role, Server
from pmc.remote import commands

if TYPE_CHECKING:
    from pmc.remote.pool import ConnectionPool

PROBE_TIMEOUT = 3.0  # seconds one port may take to answer, as seen from a server
COMMAND_TIMEOUT = 15.0  # seconds one probe command may take in all


class Health(StrEnum):
    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CommandOutcome:
    exit_status: int
    stdout: str
    stderr: str = ""


class CommandRunner(Protocol):
    """Runs a shell command on ``server`` (as root or through sudo) and returns its outcome.

    Raises :class:`~pmc.errors.PmcError` when the server cannot be reached at all.
    """

    async def run(self, server: Server, command: str, *, timeout: float) -> CommandOutcome: ...


@dataclass(frozen=True)
class Check:
    """One probe's answer: ``summary`` is what a table cell shows, ``error`` why it is not up."""

    health: Health
    summary: str
    checked: float | None = None
    error: str | None = None

    @property
    def tooltip(self) -> str:
        when = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.checked))
            if self.checked
            else "never"
        )
        text = f"{self.summary}\nLast check: {when}"
        if self.error:
            text += f"\n{self.error}"
        return text


NOT_CHECKED = Check(Health.UNKNOWN, "not checked yet")


class LinkKind(StrEnum):
    MANAGEMENT = "management"  # eth3: the operator's desktop to the server (SSH)
    REDUNDANCY = "redundancy"  # eth2: main to backup, used by copy config (Slony)
    HTTP = "http"  # seed diagram, green: HTTP 80
    TCP = "tcp"  # seed diagram, orange: TCP 22, 2001, 5555
    UDP = "udp"  # seed diagram, black: UDP 161, 162 (SNMP)

    @property
    def label(self) -> str:
        return _LINK_TITLES[self]


_LINK_TITLES = {
    LinkKind.MANAGEMENT: "Management network (eth3)",
    LinkKind.REDUNDANCY: "Redundancy link (eth2)",
    LinkKind.HTTP: "HTTP 80",
    LinkKind.TCP: "TCP 22, 2001, 5555",
    LinkKind.UDP: "UDP 161, 162",
}


@dataclass(frozen=True)
class Link:
    """A connection of the cluster diagram, probed from ``source`` towards ``target``.

    ``source`` is None for the management network (the operator's desktop).
    """

    kind: LinkKind
    source: str | None
    target: str
    address: str
    ports: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.source or 'operator'}:{self.target}"

    @property
    def title(self) -> str:
        ends = f"{self.source or 'operator'} → {self.target}"
        return f"{self.kind.label}: {ends} ({self.address})"


@dataclass(frozen=True)
class ServerStatus:
    server: str
    reachable: Check = NOT_CHECKED
    api: Check = NOT_CHECKED
    postgres: Check = NOT_CHECKED  # this server's PostgreSQL as its peer sees it over eth2
    replication: Check = NOT_CHECKED
    last_sync: Check = NOT_CHECKED
    drift: Check = field(
        default=Check(Health.UNKNOWN, "not compared", error="Synchronize compares configurations")
    )
    locked_by: Holder | None = None  # the PMC job that holds the cluster lock on this server


@dataclass(frozen=True)
class ClusterLockState:
    """Who holds a cluster (:mod:`pmc.cluster_lock`), as the status view says it."""

    holder: Holder
    servers: tuple[str, ...]

    def __str__(self) -> str:
        return f"in use: {self.holder} (on {', '.join(self.servers)})"


@dataclass(frozen=True)
class ClusterStatus:
    cluster: str
    servers: dict[str, ServerStatus]
    links: dict[str, Check]
    checked: float

    @property
    def lock(self) -> ClusterLockState | None:
        """Who holds the cluster, if a PMC job does (read from its servers' lock files)."""
        held = [(s.locked_by, name) for name, s in self.servers.items() if s.locked_by]
        if not held:
            return None
        holder = held[0][0]
        assert holder is not None
        return ClusterLockState(holder, tuple(name for h, name in held if h == holder))


DriftProbe = Callable[[Cluster, Server], Awaitable[Check]]


# links -------------------------------------------------------------------------------------
def hub_of(cluster: Cluster) -> Server | None:
    """The server the diagram's port links start from: the admin, else the main."""
    admins = cluster.by_role(Role.ADMIN)
    if admins:
        return admins[0]
    return cluster.main or (cluster.servers[0] if cluster.servers else None)


def links_of(cluster: Cluster) -> list[Link]:
    """Every link of ``cluster``'s diagram, in drawing order."""
    links = [
        Link(LinkKind.MANAGEMENT, None, s.name, s.management_address, (s.ssh_port,))
        for s in cluster.servers
    ]
    main, backup = cluster.main, cluster.backup
    if main and backup and main.redundancy_address and backup.redundancy_address:
        links.append(
            Link(LinkKind.REDUNDANCY, main.name, backup.name, backup.redundancy_address, (22,))
        )
    hub = hub_of(cluster)
    if hub is not None:
        for peer in cluster.servers:
            if peer.name == hub.name:
                continue
            lay = peer.layout
            address = peer.management_address
            links += [
                Link(LinkKind.HTTP, hub.name, peer.name, address, (lay.http_port,)),
                Link(
                    LinkKind.TCP,
                    hub.name,
                    peer.name,
                    address,
                    (lay.ssh_port, lay.scheduler_port, lay.admin_port),
                ),
                Link(
                    LinkKind.UDP, hub.name, peer.name, address, (lay.snmp_port, lay.snmp_trap_port)
                ),
            ]
    return links


def peer_of(cluster: Cluster, server: Server) -> Server | None:
    """The other end of ``server``'s eth2 link (main ↔ backup), if the cluster has one."""
    main, backup = cluster.main, cluster.backup
    if main and backup:
        if server.name == main.name:
            return backup
        if server.name == backup.name:
            return main
    return None


# commands ----------------------------------------------------------------------------------
def tcp_probe_command(address: str, ports: Sequence[int], timeout: float = PROBE_TIMEOUT) -> str:
    """A bash command that tries each port at once and prints ``PORT up`` or ``PORT down N``."""
    probe = (
        f'probe() {{ if timeout {_secs(timeout)} bash -c \'exec 3<>/dev/tcp/"$0"/"$1"\' '
        '"$1" "$2" 2>/dev/null; then echo "$2 up"; else echo "$2 down $?"; fi; }; '
    )
    calls = " ".join(f"probe {shlex.quote(address)} {int(p)} &" for p in ports)
    return "bash -c " + shlex.quote(probe + calls + " wait")


def _ber_length(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else bytes([0x81, n])


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _ber_length(len(body)) + body


def snmp_packet(pdu_tag: int, request_id: int = 1, community: str = "public") -> bytes:
    """An SNMPv2c request for sysDescr.0: GetRequest (0xA0) or InformRequest (0xA6)."""
    oid = _tlv(0x06, bytes([0x2B, 6, 1, 2, 1, 1, 1, 0]))
    varbinds = _tlv(0x30, _tlv(0x30, oid + b"\x05\x00"))
    pdu = _tlv(
        pdu_tag,
        _tlv(0x02, bytes([request_id])) + _tlv(0x02, b"\x00") + _tlv(0x02, b"\x00") + varbinds,
    )
    return _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, community.encode()) + pdu)


_PY_UDP = (
    "import socket,sys,binascii\n"
    "a,p,h,t=sys.argv[1],int(sys.argv[2]),sys.argv[3],float(sys.argv[4])\n"
    "s=socket.socket(socket.AF_INET6 if ':' in a else socket.AF_INET,socket.SOCK_DGRAM)\n"
    "s.settimeout(t)\n"
    "try:\n"
    " s.connect((a,p));s.send(binascii.unhexlify(h));s.recv(1500);print(p,'up')\n"
    "except socket.timeout:\n print(p,'down no answer')\n"
    "except OSError as e:\n print(p,'down',e.strerror or e)\n"
)


def udp_probe_command(address: str, ports: Sequence[int], timeout: float = PROBE_TIMEOUT) -> str:
    """SNMP requests from a server: a Get to the agent port, an Inform to the trap port."""
    parts = []
    for i, port in enumerate(ports):
        tag = 0xA0 if i == 0 else 0xA6
        packet = snmp_packet(tag, request_id=i + 1)
        hexed = packet.hex()
        octal = "".join(f"\\{b:03o}" for b in packet)
        bash_fallback = (
            f"if exec 3<>/dev/udp/{shlex.quote(address)}/{int(port)} 2>/dev/null && "
            f"printf {shlex.quote(octal)} >&3 && "
            f"timeout {_secs(timeout)} head -c 1 <&3 >/dev/null 2>&1; "
            f"then echo '{int(port)} up'; else echo '{int(port)} down no answer'; fi"
        )
        py_args = " ".join(
            shlex.quote(a) for a in (_PY_UDP, address, str(int(port)), hexed, _secs(timeout))
        )
        # each probe prints its one line with a single echo, so lines never interleave
        parts.append(
            "( line=$( for py in python3 /usr/libexec/platform-python; do "
            f'if command -v "$py" >/dev/null 2>&1; then exec "$py" -c {py_args} 2>&1; fi; '
            f'done; {bash_fallback} ); echo "$line" ) &'
        )
    return "bash -c " + shlex.quote(" ".join(parts) + " wait")


def _secs(value: float) -> str:
    return f"{value:g}"


def parse_port_lines(text: str, ports: Sequence[int]) -> dict[int, tuple[bool, str]]:
    """``PORT up`` / ``PORT down REASON`` lines → per port (ok, reason); missing = not answered."""
    found: dict[int, tuple[bool, str]] = {}
    for line in text.splitlines():
        words = line.split(maxsplit=2)
        if len(words) >= 2 and words[0].isdigit():
            port = int(words[0])
            ok = words[1] == "up"
            reason = words[2] if len(words) > 2 else ""
            if reason == "124":
                reason = "timed out (filtered?)"
            elif reason == "1":
                reason = "refused"
            found[port] = (ok, reason)
    return {p: found.get(p, (False, "no answer from the probe")) for p in ports}


# probes ------------------------------------------------------------------------------------
async def _probe_ports(
    runner: CommandRunner, source: Server, link: Link, protocol: str, now: Callable[[], float]
) -> Check:
    command = (
        udp_probe_command(link.address, link.ports)
        if protocol == "udp"
        else tcp_probe_command(link.address, link.ports)
    )
    try:
        outcome = await runner.run(source, command, timeout=COMMAND_TIMEOUT)
    except PmcError as exc:
        return Check(Health.UNKNOWN, f"cannot probe from {source.name}", now(), str(exc))
    results = parse_port_lines(outcome.stdout, link.ports)
    if protocol == "udp":
        # A trap receiver never answers (only informs, and not every receiver): on the trap
        # port silence means "not refused" — open, or filtered by a silent drop.
        trap_ports = set(link.ports[1:])
        results = {
            p: (True, "not refused") if p in trap_ports and why == "no answer" else (ok, why)
            for p, (ok, why) in results.items()
        }
    down = [f"{protocol.upper()} {p} {why}".strip() for p, (ok, why) in results.items() if not ok]
    ports = ", ".join(str(p) for p in link.ports)
    if down:
        return Check(
            Health.DOWN,
            f"{protocol.upper()} {ports}: {len(down)} of {len(results)} closed",
            now(),
            f"from {source.name} to {link.address}: " + "; ".join(down),
        )
    return Check(Health.UP, f"{protocol.upper()} {ports} open", now())


async def probe_link(
    cluster: Cluster,
    link: Link,
    runner: CommandRunner,
    reachable: dict[str, Check],
    now: Callable[[], float] = time.time,
) -> Check:
    if link.kind is LinkKind.MANAGEMENT:
        return reachable.get(link.target, NOT_CHECKED)
    assert link.source is not None
    source = cluster.server(link.source)
    if reachable.get(source.name, NOT_CHECKED).health is Health.DOWN:
        return Check(
            Health.UNKNOWN,
            f"{source.name} cannot be reached",
            now(),
            reachable[source.name].error,
        )
    protocol = "udp" if link.kind is LinkKind.UDP else "tcp"
    return await _probe_ports(runner, source, link, protocol, now)


async def _reachable(runner: CommandRunner, server: Server, now: Callable[[], float]) -> Check:
    try:
        await runner.run(server, "true", timeout=COMMAND_TIMEOUT)
    except PmcError as exc:
        return Check(Health.DOWN, "unreachable", now(), str(exc))
    return Check(Health.UP, f"SSH {server.management_address}:{server.ssh_port}", now())


async def probe_lock(runner: CommandRunner, server: Server) -> Holder | None:
    """Who holds the cluster lock on ``server`` (read only, never waits; None if nobody or
    unknown)."""
    command = shlex.join(["sh", "-c", PROBE_SCRIPT, "pmc-probe", server.layout.pmc_run_dir])
    try:
        outcome = await runner.run(server, command, timeout=COMMAND_TIMEOUT)
    except PmcError:
        return None
    return Holder.parse(outcome.stdout) if outcome.exit_status == 0 else None


async def probe_api(runner: CommandRunner, server: Server, now: Callable[[], float]) -> Check:
    service = server.layout.api_service
    try:
        outcome = await runner.run(
            server, f"systemctl is-active {shlex.quote(service)}", timeout=COMMAND_TIMEOUT
        )
    except PmcError as exc:
        return Check(Health.UNKNOWN, "not checked", now(), str(exc))
    state = outcome.stdout.strip() or "unknown"
    if outcome.exit_status == 0 and state == "active":
        return Check(Health.UP, "active (running)", now())
    return Check(Health.DOWN, state, now(), f"systemctl is-active {service}: {state}")


async def probe_postgres(
    runner: CommandRunner, cluster: Cluster, server: Server, now: Callable[[], float]
) -> Check:
    """``server``'s PostgreSQL as its eth2 peer sees it (what Slony's slon needs)."""
    peer = peer_of(cluster, server)
    if peer is None or not server.redundancy_address:
        return Check(Health.UNKNOWN, "no eth2 peer", now())
    port = server.layout.postgresql_port
    link = Link(LinkKind.REDUNDANCY, peer.name, server.name, server.redundancy_address, (port,))
    check = await _probe_ports(runner, peer, link, "tcp", now)
    address = f"{server.redundancy_address}:{port}"
    if check.health is Health.UP:
        return Check(Health.UP, f"reachable from {peer.name}", check.checked)
    if check.health is Health.DOWN:
        return Check(
            Health.DOWN, f"{address} not reachable from {peer.name}", check.checked, check.error
        )
    return check


REPLICATION_QUERY = (
    "SELECT status, coalesce(to_char(stop_time, 'YYYY-MM-DD HH24:MI:SS'), ''), "
    "coalesce(peer, '') FROM replication_status WHERE id = 1"
)


async def probe_replication(
    runner: CommandRunner, server: Server, now: Callable[[], float]
) -> tuple[Check, Check]:
    """The copy config status of ``server`` and its last synchronisation (the stop time)."""
    lay = server.layout
    command = " ".join(
        shlex.quote(a)
        for a in (
            "psql",
            "-X",
            "-q",
            "-t",
            "-A",
            "-F",
            "|",
            "-U",
            lay.database_user,
            "-d",
            lay.database,
            "-c",
            REPLICATION_QUERY,
        )
    )
    try:
        outcome = await runner.run(server, command, timeout=COMMAND_TIMEOUT)
    except PmcError as exc:
        unknown = Check(Health.UNKNOWN, "not checked", now(), str(exc))
        return unknown, unknown
    if outcome.exit_status != 0:
        error = (outcome.stderr or outcome.stdout).strip() or f"psql returned {outcome.exit_status}"
        down = Check(Health.DOWN, "database not answering", now(), error)
        return down, Check(Health.UNKNOWN, "unknown", now(), error)
    fields = (outcome.stdout.strip().splitlines() or [""])[0].split("|")
    status = fields[0] or "unknown"
    stop = fields[1] if len(fields) > 1 else ""
    peer = fields[2] if len(fields) > 2 else ""
    summary = status if not peer else f"{status} (peer {peer})"
    replication = Check(Health.UP, summary, now())
    last = (
        Check(Health.UP, stop, now())
        if stop
        else Check(Health.UNKNOWN, "never", now(), "copy config has not run on this server")
    )
    return replication, last


async def probe_cluster(
    cluster: Cluster,
    runner: CommandRunner,
    *,
    drift: DriftProbe | None = None,
    now: Callable[[], float] = time.time,
) -> ClusterStatus:
    """Probe every server and link of ``cluster`` concurrently."""
    servers = list(cluster.servers)
    reach = await asyncio.gather(*(_reachable(runner, s, now) for s in servers))
    reachable = {s.name: c for s, c in zip(servers, reach, strict=True)}

    async def one_server(server: Server) -> ServerStatus:
        if reachable[server.name].health is Health.DOWN:
            gone = Check(Health.UNKNOWN, "server unreachable", now(), reachable[server.name].error)
            pg = await probe_postgres(runner, cluster, server, now)
            return ServerStatus(server.name, reachable[server.name], gone, pg, gone, gone)
        api, pg, (repl, last), drifted, locked = await asyncio.gather(
            probe_api(runner, server, now),
            probe_postgres(runner, cluster, server, now),
            probe_replication(runner, server, now),
            drift(cluster, server) if drift else _not_compared(),
            probe_lock(runner, server),
        )
        return ServerStatus(
            server.name, reachable[server.name], api, pg, repl, last, drifted, locked
        )

    links = links_of(cluster)
    results = await asyncio.gather(
        asyncio.gather(*(one_server(s) for s in servers)),
        asyncio.gather(*(probe_link(cluster, link, runner, reachable, now) for link in links)),
    )
    server_results, link_results = results
    return ClusterStatus(
        cluster=cluster.name,
        servers={s.server: s for s in server_results},
        links={link.key: c for link, c in zip(links, link_results, strict=True)},
        checked=now(),
    )


async def _not_compared() -> Check:
    return ServerStatus("").drift


def empty_status(cluster: Cluster) -> ClusterStatus:
    """Every server and link of ``cluster`` as not checked yet."""
    return ClusterStatus(
        cluster=cluster.name,
        servers={s.name: ServerStatus(s.name) for s in cluster.servers},
        links={link.key: NOT_CHECKED for link in links_of(cluster)},
        checked=0.0,
    )


class PoolRunner:
    """A :class:`CommandRunner` over PMC's SSH connection pool, for one cluster's servers."""

    def __init__(self, pool: ConnectionPool, cluster: str) -> None:
        self.pool = pool
        self.cluster = cluster

    async def run(self, server: Server, command: str, *, timeout: float) -> CommandOutcome:
        connection = self.pool.connection(server, self.cluster)
        result = await commands.run(connection, command, root=True, timeout=timeout)
        return CommandOutcome(result.exit_status, result.stdout, result.stderr)


# drift -------------------------------------------------------------------------------------
class DriftSummary(Protocol):
    """What the drift column needs of a drift report (:class:`pmc.sync.drift.DriftReport`)."""

    @property
    def primary(self) -> str: ...

    @property
    def secondary(self) -> str: ...

    @property
    def taken_at(self) -> float: ...

    @property
    def summary(self) -> str: ...

    @property
    def in_sync(self) -> bool: ...

    @property
    def problems(self) -> tuple[str, ...]: ...

    def lines(self, *, limit: int = 20) -> list[str]: ...


DriftSource = Callable[[str], Awaitable[DriftSummary]]

TOOLTIP_LINES = 30  # a tooltip longer than this is cut with "… N more lines"


def drift_check(report: DriftSummary, server: str) -> Check:
    """The drift column's cell of ``server``: the report's summary on both compared servers
    (the tooltip lists the report), "not compared" on the others."""
    if server not in (report.primary, report.secondary):
        return Check(
            Health.UNKNOWN,
            "not compared",
            report.taken_at,
            f"Drift compares {report.primary} with {report.secondary} only.",
        )
    lines = report.lines(limit=5)
    if len(lines) > TOOLTIP_LINES:
        more = len(lines) - TOOLTIP_LINES
        lines = [*lines[:TOOLTIP_LINES], f"… {more} more lines (Sync panel ▸ Drift)"]
    detail = "\n".join(lines)
    if report.in_sync:
        return Check(Health.UP, "in sync", report.taken_at, detail)
    if report.summary.startswith("unknown"):
        return Check(Health.UNKNOWN, report.summary, report.taken_at, detail)
    return Check(Health.DOWN, report.summary, report.taken_at, detail)


class DriftCache:
    """Drift reports for the status table, fetched at a slower pace than the liveness probes.

    A drift report compares whole tables and data folders, so :meth:`probe` (what
    :func:`probe_cluster` takes as ``drift``) fetches a new one only when the last one of the
    cluster is older than :attr:`interval` seconds (or was :meth:`invalidate`-d), and shares
    that one fetch between the servers of one refresh. Between fetches the last report is
    shown. A failed fetch shows its error and is retried at the next due refresh.
    """

    def __init__(
        self,
        fetch: DriftSource,
        interval: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetch = fetch
        self.interval = interval
        self.clock = clock
        self.reports: dict[str, DriftSummary] = {}
        self.errors: dict[str, Check] = {}
        self._fetched: dict[str, float] = {}

    def invalidate(self, cluster: str | None = None) -> None:
        """Fetch a new report at the next refresh (of ``cluster``, or of every cluster)."""
        if cluster is None:
            self._fetched.clear()
        else:
            self._fetched.pop(cluster, None)

    def due(self, cluster: str) -> bool:
        last = self._fetched.get(cluster)
        return last is None or self.clock() - last >= self.interval

    def cell(self, cluster: str, server: str) -> Check | None:
        """The drift cell of ``server`` from the last report (None: nothing fetched yet)."""
        if cluster in self.errors:
            return self.errors[cluster]
        report = self.reports.get(cluster)
        return drift_check(report, server) if report is not None else None

    def remember(self, cluster: str, report: DriftSummary) -> None:
        """A report fetched elsewhere (the sync panel's Check drift) counts as fresh."""
        self.reports[cluster] = report
        self.errors.pop(cluster, None)
        self._fetched[cluster] = self.clock()

    def probe(self, *, fetch_now: bool | None = None) -> DriftProbe:
        """A drift probe for one :func:`probe_cluster` call."""
        shared: dict[str, asyncio.Task[DriftSummary | Check]] = {}

        async def fetch(cluster: str, started: float) -> DriftSummary | Check:
            try:
                report = await self.fetch(cluster)
            except Exception as exc:  # the status table shows it; the other probes go on
                error = Check(Health.UNKNOWN, "not compared", time.time(), str(exc))
                self.errors[cluster] = error
                self._fetched[cluster] = self.clock()
                return error
            if self._fetched.get(cluster, -math.inf) <= started:  # nothing newer meanwhile
                self.remember(cluster, report)
            return report

        async def probe(cluster: Cluster, server: Server) -> Check:
            name = cluster.name
            wanted = self.due(name) if fetch_now is None else fetch_now
            if wanted or name in shared:
                if name not in shared:
                    shared[name] = asyncio.ensure_future(fetch(name, self.clock()))
                got = await shared[name]
            else:
                return self.cell(name, server.name) or ServerStatus("").drift
            return got if isinstance(got, Check) else drift_check(got, server.name)

        return probe
