"""The health model's judgement: what the probes' answers mean for the operator, read by every
view (the types are :mod:`pmc.health_model`'s, the notifications of changes
:mod:`pmc.alerts`').

:func:`assess` turns a :class:`~pmc.status.ClusterStatus` (what the probes answered) into a
``ClusterHealth``: per server, one ``Finding`` per ``Aspect`` (a column of the status table)
with its ``State``, a few words for the cell and the cause in a sentence; per link of the
cluster diagram, the finding of the table cells it stands for (``link_aspects``), so the
diagram and the table cannot disagree; an overall state per server and per cluster; and one
line for the status bar and the tray (``ClusterHealth.summary``).

Judgements worth knowing:

- copy config marks replication "stopped" both when it finishes and when it fails (the
  vendor's manual: "Failure, setting replication status to stopped"): stopped after a failed
  run is *failed*, with the failure; stopped after a successful run with nothing pending
  (no drift) is *ok* and says "idle, nothing pending".
- a server PMC cannot log in to is *failed* (SSH) and its other checks are *unknown* without
  a cause of their own: the SSH cause is the one to read.
- drift between main and backup is a *warning* (it is what a sync copies), not a failure.

Pure: no Qt, no I/O.
"""

from __future__ import annotations

import datetime as dt

from pmc.copy_config_log import RunOutcome
from pmc.health_model import (
    PORT_ASPECTS,
    Aspect,
    ClusterHealth,
    Finding,
    ServerHealth,
    State,
    link_aspects,
    worst,
)
from pmc.inventory import Architecture, Cluster, Role, Server
from pmc.status import Check, ClusterStatus, Health, Link, LinkKind, ServerStatus, hub_of, links_of


def _unknown(check: Check, derived: bool) -> Finding:
    """A check that could not be made: its own cause, unless the server is unreachable
    (then the SSH cell says why)."""
    if check.summary.startswith("not checked yet"):
        return Finding(State.UNKNOWN, "not checked yet")
    cause = "" if derived else (check.error or "")
    return Finding(State.UNKNOWN, "unknown", cause, check.checked)


def _ssh(server: Server, status: ServerStatus) -> Finding:
    check = status.reachable
    if check.health is Health.UP:
        return Finding(State.OK, "connected", checked=check.checked)
    if check.health is Health.DOWN:
        return Finding(
            State.FAILED,
            "unreachable",
            f"PMC cannot log in to {server.name} ({server.management_address}:"
            f"{server.ssh_port}): {check.error or 'no answer'}",
            check.checked,
        )
    return _unknown(check, derived=False)


def _api(server: Server, status: ServerStatus, down: bool) -> Finding:
    check = status.api
    if check.health is Health.UP:
        return Finding(State.OK, "running", checked=check.checked)
    if check.health is Health.DOWN:
        service = server.layout.api_service
        return Finding(
            State.FAILED,
            check.summary,
            f"The Playout API ({service}) is {check.summary} on {server.name}: read "
            f"{server.layout.api_log} there, then restart it (systemctl restart {service}).",
            check.checked,
        )
    return _unknown(check, derived=down)


def _eth2(cluster: Cluster, server: Server, status: ClusterStatus, down: bool) -> Finding:
    mine = status.servers.get(server.name, ServerStatus(server.name))
    pg = mine.postgres
    peer = _peer(cluster, server)
    if peer is None or not server.redundancy_address:
        return Finding(State.NOT_APPLICABLE, "", f"{server.name} has no eth2 peer")
    checks: list[tuple[str, Check]] = [(str(server.layout.postgresql_port), pg)]
    for link in links_of(cluster):
        if link.kind is LinkKind.REDUNDANCY and link.target == server.name:
            checks.insert(0, ("22", status.links.get(link.key, pg)))
    closed = [port for port, c in checks if c.health is Health.DOWN]
    unknown = [c for _p, c in checks if c.health is Health.UNKNOWN]
    ports = ", ".join(port for port, _c in checks)
    when = max((c.checked or 0.0 for _p, c in checks), default=0.0) or None
    if closed:
        errors = "; ".join(c.error or c.summary for _p, c in checks if c.health is Health.DOWN)
        return Finding(
            State.FAILED,
            f"{', '.join(closed)} closed",
            f"{peer.name} cannot reach {server.name} over eth2 ({server.redundancy_address}): "
            f"{errors}. Copy config needs SSH and PostgreSQL there: check the firewall, "
            "listen_addresses and pg_hba.conf.",
            when,
        )
    if unknown:
        peer_down = status.servers.get(peer.name)
        derived = peer_down is not None and peer_down.reachable.health is Health.DOWN
        return _unknown(unknown[0], derived=derived or down)
    return Finding(State.OK, f"{ports} open", checked=when)


def _port_link(
    cluster: Cluster, server: Server, link: Link | None, status: ClusterStatus
) -> Finding:
    if link is None:
        hub = hub_of(cluster)
        name = hub.name if hub else "the main server"
        return Finding(State.NOT_APPLICABLE, "", f"The diagram's port links start at {name}.")
    check = status.links.get(link.key)
    if check is None:
        return Finding(State.UNKNOWN, "not checked yet")
    if check.health is Health.UP:
        unsure = "unverified" in check.summary
        text = "open, 162 unverified" if unsure and link.kind is LinkKind.UDP else "open"
        age = status.checked - (check.checked or status.checked)
        if link.kind is LinkKind.UDP and age >= STALE_S:  # probed behind the refresh: the
            text += f" ({_age(age)} ago)"  # last answer, with its age
        return Finding(
            State.OK,
            text,
            checked=check.checked,
            detail=check.summary + (_UNVERIFIED if unsure else ""),
        )
    if check.health is Health.DOWN:
        text = check.summary.split(" ", 1)[-1] if " " in check.summary else check.summary
        said = check.error or f"{link.kind.label} closed"
        where = check.closed_on or server.name
        return Finding(
            State.FAILED,
            text,
            f"{said[:1].upper()}{said[1:]}. The vendor's manual needs it open between the "
            f"servers: check the firewall on {where} "
            f"({server.layout.setup_firewall_script}).",
            check.checked,
        )
    source = link.source or ""
    derived = status.servers.get(source) is not None and (
        status.servers[source].reachable.health is Health.DOWN
    )
    return _unknown(check, derived=derived)


_UNVERIFIED = (
    ": a trap receiver does not answer, so PMC can only tell that the port was not refused"
)


STALE_S = 10.0  # a UDP answer older than this (when its refresh ended) shows its age


def _age(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _replicates(cluster: Cluster) -> bool:
    return cluster.architecture in (Architecture.DATABASE, Architecture.COMBINED)


def _replication(
    cluster: Cluster, server: Server, status: ServerStatus, drift: Finding, down: bool
) -> Finding:
    if not _replicates(cluster):
        return Finding(
            State.NOT_APPLICABLE,
            "",
            f"This cluster ({cluster.architecture.title}) does not replicate the database.",
        )
    check, facts = status.replication, status.replication_facts
    if facts is None:
        if check.health is Health.DOWN:
            return Finding(
                State.FAILED,
                check.summary,
                f"PMC could not read the replication status on {server.name}: {check.error}",
                check.checked,
            )
        return _unknown(check, derived=down)
    runs = facts.runs
    if facts.status == "running":
        since = f" since {runs.started}" if runs.started else ""
        return Finding(State.OK, "running", f"Copy config is running{since}.", check.checked)
    if facts.status != "stopped":
        return Finding(State.UNKNOWN, facts.status, checked=check.checked)
    if runs.outcome is RunOutcome.FAILED:
        why = runs.failure.explain() if runs.failure is not None else "see its log"
        when = f" at {runs.ended}" if runs.ended else ""
        return Finding(
            State.FAILED,
            "stopped after a failure",
            f"The last copy config on {server.name} failed{when}: {why}. Synchronize all "
            f"servers again; PMC proposes the fix it knows ({server.layout.copy_config_log}).",
            check.checked,
        )
    if runs.outcome is RunOutcome.UNFINISHED:
        return Finding(
            State.WARNING,
            "stopped before the end",
            f"The last copy config on {server.name}"
            + (f", started at {runs.started}," if runs.started else "")
            + " did not finish (stopped or cancelled). Synchronize all servers again.",
            check.checked,
        )
    if server.role is not Role.MAIN and runs.outcome is RunOutcome.NONE and not facts.stop_time:
        main = cluster.main
        return Finding(
            State.NOT_APPLICABLE,
            "",
            f"Copy config runs on {main.name if main else 'the main server'}.",
            check.checked,
        )
    if drift.state is State.OK:
        return Finding(
            State.OK,
            "idle, nothing pending",
            "Copy config is not running and main and backup hold the same configuration.",
            check.checked,
        )
    if drift.state is State.WARNING:  # the drift column says what (no second line for it)
        return Finding(State.WARNING, "idle, changes pending", checked=check.checked)
    return Finding(State.OK, "idle", checked=check.checked)


def _moment(stamp: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _last_sync(cluster: Cluster, server: Server, status: ServerStatus, down: bool) -> Finding:
    if not _replicates(cluster):
        return Finding(State.NOT_APPLICABLE, "")
    check, facts = status.last_sync, status.replication_facts
    if facts is None:
        return _unknown(check, derived=down or check.health is Health.UNKNOWN)
    stamp = facts.runs.last_success
    if stamp is None and facts.runs.outcome is not RunOutcome.FAILED and facts.stop_time:
        stamp = facts.stop_time  # a log without time stamps: the status row's stop time
    if stamp:
        return Finding(State.OK, stamp[:16], checked=check.checked, moment=_moment(stamp))
    if server.role is not Role.MAIN:
        return Finding(State.NOT_APPLICABLE, "")
    return Finding(
        State.UNKNOWN,
        "never",
        checked=check.checked,
        detail=f"Copy config has not finished successfully on {server.name} yet.",
    )


def _drift(cluster: Cluster, server: Server, status: ServerStatus, down: bool) -> Finding:
    if _peer(cluster, server) is None:
        main, backup = cluster.main, cluster.backup
        pair = f"{main.name} with {backup.name}" if main and backup else "main with backup"
        return Finding(State.NOT_APPLICABLE, "", f"Drift compares {pair} only.")
    check = status.drift
    if check.health is Health.UP:
        return Finding(State.OK, check.summary, checked=check.checked)
    if check.health is Health.DOWN:
        said = check.summary
        setup = said.endswith(" setup")  # "…; 8 config files need setup": the setup's work
        data = not setup or ";" in said  # rows or files differ: a sync's work
        todo = []
        if data:
            todo.append("Synchronize all servers copies the rows and files that differ")
        if setup:
            todo.append("Cluster ▸ Setup redundancy… rewrites the config files")
        return Finding(
            State.WARNING,
            said,
            f"{said[:1].upper()}{said[1:]}. {'; '.join(todo)}. The Drift tab of the sync panel "
            "lists each difference.",
            check.checked,
            detail=(check.error or "").strip(),
        )
    if check.summary == "not compared" and not check.checked:
        return Finding(State.UNKNOWN, "not compared")
    return _unknown(check, derived=down)


def _peer(cluster: Cluster, server: Server) -> Server | None:
    main, backup = cluster.main, cluster.backup
    if main and backup and server.name in (main.name, backup.name):
        return backup if server.name == main.name else main
    return None


def assess(cluster: Cluster, status: ClusterStatus) -> ClusterHealth:
    """What ``status`` means for the operator: see the module docs."""
    links = links_of(cluster)
    port_links = {(link.kind, link.target): link for link in links if link.kind in PORT_ASPECTS}
    servers: dict[str, ServerHealth] = {}
    for server in cluster.servers:
        probed = status.servers.get(server.name, ServerStatus(server.name))
        down = probed.reachable.health is Health.DOWN
        findings: dict[Aspect, Finding] = {}
        findings[Aspect.SSH] = _ssh(server, probed)
        findings[Aspect.API] = _api(server, probed, down)
        findings[Aspect.ETH2] = _eth2(cluster, server, status, down)
        for kind, aspect in PORT_ASPECTS.items():
            found = port_links.get((kind, server.name))
            findings[aspect] = _port_link(cluster, server, found, status)
        drift = _drift(cluster, server, probed, down)
        findings[Aspect.REPLICATION] = _replication(cluster, server, probed, drift, down)
        findings[Aspect.LAST_SYNC] = _last_sync(cluster, server, probed, down)
        findings[Aspect.DRIFT] = drift
        servers[server.name] = ServerHealth(server.name, server.role, findings)
    # the backup's last synchronization is the one its main ran
    main = cluster.main
    if main is not None:
        for name, health in servers.items():
            mine = health.findings[Aspect.LAST_SYNC]
            if (
                name != main.name
                and health.role is Role.BACKUP
                and mine.state
                in (
                    State.NOT_APPLICABLE,
                    State.UNKNOWN,
                )
            ):
                theirs = servers[main.name].findings[Aspect.LAST_SYNC]
                if theirs.state is State.OK:
                    health.findings[Aspect.LAST_SYNC] = theirs
    drawn: dict[str, Finding] = {}
    for link in links:
        cells = [servers[s].findings[a] for s, a in link_aspects(cluster, link) if s in servers]
        drawn[link.key] = worst(cells) or Finding(State.UNKNOWN, "not checked yet")
    return ClusterHealth(cluster.name, servers, drawn, status.checked, status.lock)
