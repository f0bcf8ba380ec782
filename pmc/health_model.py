"""The health model's data: what every view of the status shows of one check
(:class:`Finding`: a :class:`State`, a few words for its cell, the cause in a sentence), per
server (:class:`ServerHealth`, one finding per :class:`Aspect`, a column of the status table)
and per cluster (:class:`ClusterHealth`, with the diagram's links and one line for the status
bar and the tray). :func:`pmc.health.assess` makes them from the probes' answers; the fleet
view of many clusters reads the same types. Pure: no Qt, no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from pmc.inventory import Cluster, Role
from pmc.status import ClusterLockState, Link, LinkKind
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
    lock: ClusterLockState | None = None  # another PMC job holds the cluster (who, what)

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
