"""Notifications of what changed in a cluster's health: :func:`changes` between two
assessments (a check or a link going between OK, needs attention and failed), paced by an
:class:`AlertPacer` (at most one notification a minute, the changes meanwhile gathered into
it) and worded by :func:`notification`. Pure: the tray shows them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pmc.health_model import STATE_WORDS, ClusterHealth, Finding, State
from pmc.words import plural


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
