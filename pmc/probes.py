"""The probes behind the cluster status: each runs *on the servers*, through a
:class:`~pmc.status.CommandRunner` (PMC's SSH transport in the app and the CLI, anything that
runs a shell command in tests). The operator's desktop is not on the redundancy network, so
"can main reach backup's PostgreSQL over eth2" is asked of main itself. Probes need only what
a minimal Rocky 8 server has: bash, coreutils ``timeout``, ``systemctl``, ``grep`` and ``psql``
(installed with Playout); the port commands are :mod:`pmc.port_probes`'.

All probes of a cluster run concurrently; each answer is a typed :class:`~pmc.status.Check`
with the time of its check and, when something failed, the error.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pmc.background_probes import BackgroundProbes
from pmc.cluster_lock import PROBE_SCRIPT, Holder
from pmc.copy_config_log import log_command, read_runs
from pmc.errors import PmcError
from pmc.inventory import Cluster, Server
from pmc.port_probes import parse_port_lines, tcp_probe_command, udp_probe_command
from pmc.remote import commands
from pmc.status import (
    NOT_CHECKED,
    NOT_COMPARED,
    Check,
    ClusterStatus,
    CommandOutcome,
    CommandRunner,
    DriftProbe,
    Health,
    Link,
    LinkKind,
    ReplicationFacts,
    ServerStatus,
    links_of,
    peer_of,
)

if TYPE_CHECKING:
    from pmc.remote.pool import ConnectionPool

COMMAND_TIMEOUT = 15.0  # seconds one probe command may take in all
_LOG_MARK = "--- copy config log"


async def _probe_ports(
    runner: CommandRunner,
    source: Server,
    link: Link,
    protocol: str,
    now: Callable[[], float],
    *,
    trap_ports: tuple[int, ...] | None = None,
) -> Check:
    traps = link.ports[1:] if trap_ports is None else trap_ports
    command = (
        udp_probe_command(link.address, link.ports, trap_ports=traps)
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
        # port silence means "not refused" — open, or filtered by a silent drop: unverified.
        results = {
            p: (True, UNVERIFIED) if p in traps and why == "no answer" else (ok, why)
            for p, (ok, why) in results.items()
        }
    down = [f"{protocol.upper()} {p} {why}".strip() for p, (ok, why) in results.items() if not ok]
    if down:
        closed = [str(p) for p, (ok, _why) in results.items() if not ok]
        return Check(
            Health.DOWN,
            f"{protocol.upper()} {', '.join(closed)} closed",
            now(),
            f"from {source.name} to {link.address}: " + "; ".join(down),
            closed_on=link.target,
        )
    return Check(Health.UP, _open_summary(protocol, results), now())


UNVERIFIED = "not refused (unverified)"


def _open_summary(protocol: str, results: dict[int, tuple[bool, str]]) -> str:
    sure = [str(p) for p, (_ok, why) in results.items() if why != UNVERIFIED]
    unsure = [str(p) for p, (_ok, why) in results.items() if why == UNVERIFIED]
    parts = ([f"{', '.join(sure)} open"] if sure else []) + (
        [f"{', '.join(unsure)} {UNVERIFIED}"] if unsure else []
    )
    return f"{protocol.upper()} {', '.join(parts)}"


async def probe_udp_link(
    cluster: Cluster,
    link: Link,
    runner: CommandRunner,
    reachable: dict[str, Check],
    now: Callable[[], float] = time.time,
) -> Check:
    """SNMP as Playout uses it, probed from each end once: the hub asks the peer's agent
    (a Get to UDP 161), the peer sends its traps to the hub (an Inform to UDP 162)."""
    assert link.source is not None
    hub, peer = cluster.server(link.source), cluster.server(link.target)
    agent, traps = link.ports[:1], link.ports[1:]
    asks = [_probe_ports(runner, hub, Link(LinkKind.UDP, hub.name, peer.name, link.address,
                                           agent), "udp", now, trap_ports=())]  # fmt: skip
    if traps and reachable.get(peer.name, NOT_CHECKED).health is Health.DOWN:
        asks.append(_gone(peer.name, reachable, now))
    elif traps:
        back = Link(LinkKind.UDP, peer.name, hub.name, hub.management_address, traps)
        asks.append(_probe_ports(runner, peer, back, "udp", now, trap_ports=traps))
    checks = await asyncio.gather(*asks)
    closed = [c for c in checks if c.health is Health.DOWN]
    if closed:
        ports = ", ".join(c.summary.removeprefix("UDP ").removesuffix(" closed") for c in closed)
        return Check(
            Health.DOWN,
            f"UDP {ports} closed",
            now(),
            "; ".join(c.error or c.summary for c in closed),
            closed_on=", ".join(c.closed_on or "" for c in closed),
        )
    unknown = [c for c in checks if c.health is Health.UNKNOWN]
    if unknown:
        return unknown[0]
    said = ", ".join(c.summary.removeprefix("UDP ") for c in checks)
    return Check(Health.UP, f"UDP {said}", now())


async def _gone(name: str, reachable: dict[str, Check], now: Callable[[], float]) -> Check:
    return Check(Health.UNKNOWN, f"{name} cannot be reached", now(), reachable[name].error)


async def probe_link(
    cluster: Cluster,
    link: Link,
    runner: CommandRunner,
    reachable: dict[str, Check],
    now: Callable[[], float] = time.time,
    *,
    background: BackgroundProbes | None = None,
    background_runner: CommandRunner | None = None,
) -> Check:
    """``link``'s check; a UDP link's is ``background``'s last one when given (the refresh
    does not wait for SNMP's silences), probed through ``background_runner`` (sessions of
    its own: never in a script of the refresh)."""
    if link.kind is LinkKind.MANAGEMENT:
        return reachable.get(link.target, NOT_CHECKED)
    assert link.source is not None
    source = cluster.server(link.source)
    if reachable.get(source.name, NOT_CHECKED).health is Health.DOWN:
        return await _gone(source.name, reachable, now)
    if link.kind is LinkKind.UDP:
        if background is None:
            return await probe_udp_link(cluster, link, runner, reachable, now)
        return background.check(
            f"{cluster.name}/{link.key}",
            lambda: probe_udp_link(cluster, link, background_runner or runner, reachable, now),
        )
    return await _probe_ports(runner, source, link, "tcp", now)


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


def replication_command(server: Server) -> str:
    """psql's answer to :data:`REPLICATION_QUERY` (its exit status kept), then the copy
    config log's telling lines (:func:`pmc.copy_config_log.log_command`)."""
    lay = server.layout
    psql = " ".join(
        shlex.quote(a)
        for a in ("psql", "-X", "-q", "-t", "-A", "-F", "|", "-U", lay.database_user,
                  "-d", lay.database, "-c", REPLICATION_QUERY)
    )  # fmt: skip
    return f"{psql}; rc=$?; echo {shlex.quote(_LOG_MARK)}; {log_command(lay)}; exit $rc"


async def probe_replication(
    runner: CommandRunner, server: Server, now: Callable[[], float]
) -> tuple[Check, Check, ReplicationFacts | None]:
    """The copy config status of ``server``, its last synchronization (the stop time) and
    what its replication status row and copy config log say."""
    try:
        outcome = await runner.run(server, replication_command(server), timeout=COMMAND_TIMEOUT)
    except PmcError as exc:
        unknown = Check(Health.UNKNOWN, "not checked", now(), str(exc))
        return unknown, unknown, None
    answer, _, log = outcome.stdout.partition(_LOG_MARK)
    if outcome.exit_status != 0:
        error = (outcome.stderr or answer).strip() or f"psql returned {outcome.exit_status}"
        down = Check(Health.DOWN, "database not answering", now(), error)
        return down, Check(Health.UNKNOWN, "unknown", now(), error), None
    fields = (answer.strip().splitlines() or [""])[0].split("|")
    status = fields[0] or "unknown"
    stop = fields[1] if len(fields) > 1 else ""
    peer = fields[2] if len(fields) > 2 else ""
    facts = ReplicationFacts(status, stop, peer, read_runs(log.strip().splitlines()))
    summary = status if not peer else f"{status} (peer {peer})"
    replication = Check(Health.UP, summary, now())
    last = (
        Check(Health.UP, stop, now())
        if stop
        else Check(Health.UNKNOWN, "never", now(), "copy config has not run on this server")
    )
    return replication, last, facts


async def probe_cluster(
    cluster: Cluster,
    runner: CommandRunner,
    *,
    drift: DriftProbe | None = None,
    now: Callable[[], float] = time.time,
    background: BackgroundProbes | None = None,
    background_runner: CommandRunner | None = None,
) -> ClusterStatus:
    """Probe every server and link of ``cluster`` concurrently (UDP links through
    ``background`` when given: their last known state, probed again behind the refresh).

    Everything is asked at once, the SSH check too (a batching runner then asks each server
    one script); what depended on a server PMC could not reach is said so afterwards. Every
    probe is a child of this call: cancelled with it, none runs on behind a cancelled refresh
    (one that had, connecting later, met a changed host key and warned a second time)."""
    servers = list(cluster.servers)

    async def one_server(server: Server) -> ServerStatus:
        here, api, pg, (repl, last, facts), locked = await asyncio.gather(
            _reachable(runner, server, now),
            probe_api(runner, server, now),
            probe_postgres(runner, cluster, server, now),
            probe_replication(runner, server, now),
            probe_lock(runner, server),
        )
        if here.health is Health.DOWN:
            gone = Check(Health.UNKNOWN, "server unreachable", now(), here.error)
            return ServerStatus(server.name, here, gone, pg, gone, gone)
        drifted = await (drift(cluster, server) if drift else _not_compared())
        return ServerStatus(server.name, here, api, pg, repl, last, drifted, facts, locked)

    links = links_of(cluster)
    not_yet: dict[str, Check] = {}  # nobody known unreachable yet: every probe is asked
    server_results, link_results = await asyncio.gather(
        asyncio.gather(*(one_server(s) for s in servers)),
        asyncio.gather(
            *(
                probe_link(
                    cluster,
                    link,
                    runner,
                    not_yet,
                    now,
                    background=background,
                    background_runner=background_runner,
                )
                for link in links
            )
        ),
    )
    reachable = {s.server: s.reachable for s in server_results}
    return ClusterStatus(
        cluster=cluster.name,
        servers={s.server: s for s in server_results},
        links={
            link.key: await _as_reached(link, check, reachable, now)
            for link, check in zip(links, link_results, strict=True)
        },
        checked=now(),
    )


async def _as_reached(
    link: Link, check: Check, reachable: dict[str, Check], now: Callable[[], float]
) -> Check:
    """A link's check once the SSH checks are known: the management link is the SSH check,
    a link from a server PMC cannot reach says so."""
    if link.kind is LinkKind.MANAGEMENT:
        return reachable.get(link.target, NOT_CHECKED)
    source = link.source or ""
    if reachable.get(source, NOT_CHECKED).health is Health.DOWN:
        return await _gone(source, reachable, now)
    return check


async def _not_compared() -> Check:
    return NOT_COMPARED


class PoolRunner:
    """A :class:`~pmc.status.CommandRunner` over PMC's SSH connection pool, for one cluster's
    servers."""

    def __init__(self, pool: ConnectionPool, cluster: str) -> None:
        self.pool = pool
        self.cluster = cluster

    async def run(self, server: Server, command: str, *, timeout: float) -> CommandOutcome:
        connection = self.pool.connection(server, self.cluster)
        result = await commands.run(connection, command, root=True, timeout=timeout)
        return CommandOutcome(result.exit_status, result.stdout, result.stderr)
