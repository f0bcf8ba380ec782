"""The status table's drift column: drift reports (what differs between main and backup)
fetched at their own, slower pace than the liveness probes and shared by the servers of one
refresh (:class:`DriftCache`), and the column's cell of each server (:func:`drift_check`)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from pmc.inventory import Cluster, Server
from pmc.status import NOT_COMPARED, Check, DriftProbe, Health


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
    :func:`pmc.probes.probe_cluster` takes as ``drift``) fetches a new one only when the last
    one of the cluster is older than :attr:`interval` seconds (or was :meth:`invalidate`-d),
    and shares that one fetch between the servers of one refresh. Between fetches the last report is
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
        """A drift probe for one :func:`pmc.probes.probe_cluster` call."""
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
                return self.cell(name, server.name) or NOT_COMPARED
            return got if isinstance(got, Check) else drift_check(got, server.name)

        return probe
