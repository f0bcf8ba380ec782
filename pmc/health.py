"""The health model: what the probes' answers mean for the operator, read by every view.

:func:`assess` turns a :class:`~pmc.status.ClusterStatus` (what the probes answered) into a
:class:`ClusterHealth`: per server, one :class:`Finding` per :class:`Aspect` (a column of the
status table) with its :class:`State`, a few words for the cell and the cause in a sentence;
per link of the cluster diagram, the finding of the table cells it stands for
(:func:`link_aspects`), so the diagram and the table cannot disagree; an overall state per
server and per cluster; and one line for the status bar and the tray (:attr:`ClusterHealth.
summary`). :func:`changes` lists what changed between two assessments (for notifications).

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pmc.copy_config_log import RunOutcome
from pmc.inventory import Architecture, Cluster, Role, Server
from pmc.status import Check, ClusterStatus, Health, Link, LinkKind, ServerStatus, hub_of, links_of
from pmc.words import plural


class State(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not applicable"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]


_SEVERITY = {
    State.NOT_APPLICABLE: 0,
    State.OK: 1,
    State.UNKNOWN: 2,
    State.WARNING: 3,
    State.FAILED: 4,
}
_SYMBOLS = {
    State.OK: "●",
    State.WARNING: "▲",
    State.FAILED: "✖",
    State.UNKNOWN: "○",
    State.NOT_APPLICABLE: "–",
}
STATE_WORDS = {
    State.OK: "OK",
    State.WARNING: "needs attention",
    State.FAILED: "failed",
    State.UNKNOWN: "unknown",
    State.NOT_APPLICABLE: "not applicable",
}


@dataclass(frozen=True)
class Finding:
    """One check as the operator reads it: ``text`` in the cell (a few words), ``cause`` the
    sentence that says why (empty when there is nothing to add), ``checked`` when (seconds
    since the epoch), ``moment`` the time the text names (a view formats it in its locale),
    ``detail`` what a tooltip may add."""

    state: State
    text: str
    cause: str = ""
    checked: float | None = None
    moment: dt.datetime | None = None
    detail: str = ""  # more than the cause says (a drift report): for a tooltip, not a line

    @property
    def cell(self) -> str:
        return f"{self.state.symbol}  {self.text}".rstrip()


def worst(findings: Iterable[Finding]) -> Finding | None:
    """The finding that matters most (failed before warning before unknown before ok)."""
    ranked = sorted(findings, key=lambda f: f.state.severity, reverse=True)
    return ranked[0] if ranked else None


class Aspect(StrEnum):
    """What the status table checks of each server, one column each, in order."""

    SSH = "ssh"
    API = "api"
    ETH2 = "eth2"
    HTTP = "http"
    TCP = "tcp"
    UDP = "udp"
    REPLICATION = "replication"
    LAST_SYNC = "last-sync"
    DRIFT = "drift"

    @property
    def title(self) -> str:  # type: ignore[override]  # str.title() is not used on it
        return ASPECT_TITLES[self]


ASPECT_TITLES = {
    Aspect.SSH: "SSH (eth3)",
    Aspect.API: "Playout API",
    Aspect.ETH2: "eth2 link",
    Aspect.HTTP: "HTTP 80",
    Aspect.TCP: "TCP 22·2001·5555",
    Aspect.UDP: "UDP 161·162",
    Aspect.REPLICATION: "Replication",
    Aspect.LAST_SYNC: "Last synchronization",
    Aspect.DRIFT: "Config drift",
}
ASPECT_TIPS = {
    Aspect.SSH: "PMC logs in over SSH on the management network (eth3)",
    Aspect.API: "The Playout API service (the Web Console's back end)",
    Aspect.ETH2: "The redundancy link: SSH and PostgreSQL on this server's eth2 address, as "
    "its peer reaches them (copy config needs both)",
    Aspect.HTTP: "HTTP 80 from the main (or admin) server, as in the manual's cluster diagram",
    Aspect.TCP: "TCP 22, 2001 (scheduler) and 5555 (admin) from the main (or admin) server",
    Aspect.UDP: "SNMP (UDP 161 and 162) from the main (or admin) server",
    Aspect.REPLICATION: "Copy config (Slony): running, idle, or stopped after a failure",
    Aspect.LAST_SYNC: "When copy config last finished successfully",
    Aspect.DRIFT: "What differs between main and backup (tables, data files, config files)",
}
PORT_ASPECTS = {LinkKind.HTTP: Aspect.HTTP, LinkKind.TCP: Aspect.TCP, LinkKind.UDP: Aspect.UDP}


@dataclass(frozen=True)
class ServerHealth:
    server: str
    role: Role
    findings: dict[Aspect, Finding]

    @property
    def overall(self) -> State:
        """The worst state; a check that could not be made counts as needing attention
        when it says why, and not at all when it has no cause of its own (not compared
        yet, or the SSH check already says why)."""
        states = []
        for finding in self.findings.values():
            if finding.state is State.UNKNOWN:
                if finding.cause:
                    states.append(State.WARNING)
            elif finding.state is not State.NOT_APPLICABLE:
                states.append(finding.state)
        return max(states, key=lambda s: s.severity) if states else State.UNKNOWN

    def problems(self) -> list[tuple[Aspect, Finding]]:
        """The findings with a cause worth reading (failed, warnings, unknowns that say why),
        worst first."""
        shown = [
            (aspect, f)
            for aspect, f in self.findings.items()
            if f.cause and f.state in (State.FAILED, State.WARNING, State.UNKNOWN)
        ]
        return sorted(shown, key=lambda pair: pair[1].state.severity, reverse=True)


@dataclass(frozen=True)
class ClusterHealth:
    cluster: str
    servers: dict[str, ServerHealth]
    links: dict[str, Finding] = field(default_factory=dict)
    checked: float = 0.0

    @property
    def overall(self) -> State:
        states = [s.overall for s in self.servers.values()]
        if not states:
            return State.NOT_APPLICABLE
        return max(states, key=lambda s: s.severity)

    @property
    def summary(self) -> str:
        """One line for the status bar and the tray."""
        if not self.servers:
            return f"{self.cluster}: no servers yet"
        problems = [(s, a, f) for s in self.servers.values() for a, f in s.problems()]
        problems = [p for p in problems if p[2].state in (State.FAILED, State.WARNING)]
        if not problems:
            if not self.checked:
                return f"{self.cluster}: not checked yet"
            if self.overall is State.UNKNOWN:
                return f"{self.cluster}: some checks could not be made"
            return f"{self.cluster}: all {plural(len(self.servers), 'server')} OK"
        problems.sort(key=lambda p: p[2].state.severity, reverse=True)
        server, aspect, finding = problems[0]
        line = f"{self.cluster}: {aspect.title} on {server.server}: {finding.text}"
        if len(problems) > 1:
            line += f" (and {plural(len(problems) - 1, 'more problem')})"
        return line

    def problem_lines(self) -> list[str]:
        """Every cause worth reading, one line each ("backup · SSH (eth3): …")."""
        return [
            f"{s.server} · {aspect.title}: {f.cause}"
            for s in self.servers.values()
            for aspect, f in s.problems()
        ]


def link_aspects(cluster: Cluster, link: Link) -> list[tuple[str, Aspect]]:
    """The table cells (server, column) a link of the diagram stands for."""
    if link.kind is LinkKind.MANAGEMENT:
        return [(link.target, Aspect.SSH)]
    if link.kind is LinkKind.REDUNDANCY:
        assert link.source is not None
        return [(link.source, Aspect.ETH2), (link.target, Aspect.ETH2)]
    return [(link.target, PORT_ASPECTS[link.kind])]


# judging -----------------------------------------------------------------------------------
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
    mine = status.servers[server.name]
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
        return Finding(State.OK, "open", checked=check.checked)
    if check.health is Health.DOWN:
        text = check.summary.split(" ", 1)[-1] if " " in check.summary else check.summary
        said = check.error or f"{link.kind.label} closed"
        return Finding(
            State.FAILED,
            text,
            f"{said[:1].upper()}{said[1:]}. The vendor's manual needs it open between the "
            f"servers: check the firewall on {server.name} "
            f"({server.layout.setup_firewall_script}).",
            check.checked,
        )
    source = link.source or ""
    derived = status.servers.get(source) is not None and (
        status.servers[source].reachable.health is Health.DOWN
    )
    return _unknown(check, derived=derived)


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
        return Finding(
            State.WARNING,
            check.summary,
            f"Main and backup differ ({check.summary}): Synchronize all servers copies what "
            "differs; the Drift tab of the sync panel lists it.",
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
    return ClusterHealth(cluster.name, servers, drawn, status.checked)


# changes and notifications -----------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """A server check or a diagram link that changed state between two assessments."""

    cluster: str
    subject: str  # "backup · SSH (eth3)" or a link's title
    before: State
    after: State
    finding: Finding

    @property
    def sentence(self) -> str:
        text = f"{self.subject}: {STATE_WORDS[self.after]} ({self.finding.text})"
        if self.after in (State.FAILED, State.WARNING) and self.finding.cause:
            text += f". {self.finding.cause}"
        return text

    @property
    def worse(self) -> bool:
        return self.after.severity > self.before.severity


_NOTICED = (State.OK, State.WARNING, State.FAILED)


def changes(before: ClusterHealth | None, after: ClusterHealth) -> list[Change]:
    """What changed between OK, needs attention and failed (unknown and not-checked states
    are not news) from ``before`` to ``after`` of the same cluster."""
    if before is None or before.cluster != after.cluster or not before.checked:
        return []
    found: list[Change] = []
    for name, server in after.servers.items():
        old = before.servers.get(name)
        if old is None:
            continue
        for aspect, finding in server.findings.items():
            previous = old.findings.get(aspect)
            if previous is None or previous.state is finding.state:
                continue
            if previous.state in _NOTICED and finding.state in _NOTICED:
                subject = f"{name} · {aspect.title}"
                found.append(Change(after.cluster, subject, previous.state, finding.state, finding))
    return found


class AlertPacer:
    """At most one notification every ``interval`` seconds: changes that arrive meanwhile
    wait and go out together (:meth:`due`, given the time now)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.waiting: list[Change] = []
        self.last_sent: float | None = None

    def add(self, found: Iterable[Change]) -> None:
        self.waiting.extend(found)

    def due(self, now: float) -> list[Change]:
        """The changes to notify now (empty while the last notification is too recent)."""
        if not self.waiting:
            return []
        if self.last_sent is not None and now - self.last_sent < self.interval:
            return []
        sent, self.waiting = self.waiting, []
        self.last_sent = now
        return sent


def notification(found: Sequence[Change]) -> tuple[str, str]:
    """The title and message of one notification about ``found`` (of one or more clusters)."""
    clusters = sorted({c.cluster for c in found})
    worse = [c for c in found if c.worse]
    verb = "needs attention" if worse else "recovered"
    if any(c.after is State.FAILED for c in found):
        verb = "has a failure"
    title = f"{', '.join(clusters)} {verb}"
    if len(found) > 1:
        title += f" ({plural(len(found), 'change')})"
    lines = [c.sentence for c in found[:5]]
    if len(found) > 5:
        lines.append(f"… and {plural(len(found) - 5, 'more change')}")
    return title, "\n".join(lines)
