"""Drift: a read-only report of what differs between a cluster's main and backup.

Rows by table (only on the primary, only on the secondary, differing), files of the data
folders, and the configuration files (spoolers.json, replicate.conf, pg_hba.conf, …) that the
setup engine would change to reach the cluster's architecture. The GUI's status table calls
:func:`drift_report` (and shows :attr:`DriftReport.summary`); ``pmc sync diff`` prints
:meth:`DriftReport.lines`. Nothing is written anywhere.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pmc.errors import PmcError
from pmc.inventory import Cluster
from pmc.plan import StepKind
from pmc.remote.connection import Connection
from pmc.setup import make_plan
from pmc.setup.observe import observe_cluster
from pmc.sync import delta_engine
from pmc.sync.delta import Differences, FolderDelta, SyncDelta, TableDelta, format_key
from pmc.words import plural

Connections = Mapping[str, Connection]


@dataclass(frozen=True)
class ConfigDrift:
    """A configuration file the setup engine would rewrite on one server (with the diff)."""

    server: str
    subject: str
    reason: str
    diff: str = ""


@dataclass(frozen=True)
class DriftReport:
    cluster: str
    primary: str
    secondary: str
    taken_at: float
    seconds: float
    delta: SyncDelta = field(default_factory=SyncDelta)
    config: tuple[ConfigDrift, ...] = ()
    problems: tuple[str, ...] = ()  # parts that could not be read (with why)

    @property
    def tables(self) -> tuple[TableDelta, ...]:
        return self.delta.database.changed

    @property
    def folders(self) -> tuple[FolderDelta, ...]:
        return tuple(f for f in self.delta.folders if not f.is_empty)

    @property
    def rows(self) -> int:
        return self.delta.database.changes

    @property
    def files(self) -> int:
        return sum(f.changes for f in self.delta.folders)

    @property
    def in_sync(self) -> bool:
        return self.delta.is_empty and not self.config and not self.problems

    @property
    def summary(self) -> str:
        """A few words for the status table's drift column."""
        if self.problems and self.delta.is_empty and not self.config:
            return "unknown: " + self.problems[0]
        if self.in_sync:
            return "in sync"
        parts = []
        if self.rows:
            parts.append(plural(self.rows, "row"))
        if self.files:
            parts.append(plural(self.files, "file"))
        said = []
        if parts:
            one = len(parts) == 1 and parts[0].startswith("1 ")
            said.append(", ".join(parts) + (" differs" if one else " differ"))
        if self.config:  # files the setup would rewrite: not a difference between the two
            one = len(self.config) == 1
            said.append(plural(len(self.config), "config file") + (" needs" if one else " need")
                        + " setup")  # fmt: skip
        return "; ".join(said) or "incomplete"

    def lines(self, *, limit: int = 20) -> list[str]:
        """The report for a terminal: per table, per folder, per config change."""
        out = [
            f"Drift of cluster {self.cluster}: {self.secondary} compared with {self.primary}: "
            f"{self.summary}"
        ]
        for table in self.tables:
            out += self._differences(f"table {table.table}", table, limit, format_key, more=True)
        for folder in self.folders:
            out += self._differences(f"folder {folder.folder}", folder, limit, str, more=False)
        for change in self.config:
            out.append(f"  config [{change.server}] {change.subject}: {change.reason}")
            out += ["    " + line for line in change.diff.splitlines()]
        for name, why in self.delta.database.skipped:
            out.append(f"  not compared: table {name} ({why})")
        out += [f"  could not read: {p}" for p in self.problems]
        return out

    def _differences(
        self,
        what: str,
        delta: Differences,
        limit: int,
        show: Callable[[Any], str],
        *,
        more: bool,
    ) -> list[str]:
        out = [
            f"  {what}: {len(delta.only_primary)} only on {self.primary}, "
            f"{len(delta.only_secondary)} only on {self.secondary}, "
            f"{len(delta.differing)} differing"
        ]
        for label, items in (
            (f"only on {self.primary}", delta.only_primary),
            (f"only on {self.secondary}", delta.only_secondary),
            ("differing", delta.differing),
        ):
            out += [f"    {label}: {show(item)}" for item in items[:limit]]
            if more and len(items) > limit:
                out.append(f"    {label}: … {len(items) - limit} more")
        return out


async def config_drift(cluster: Cluster, conns: Connections) -> tuple[ConfigDrift, ...]:
    """The config files (spoolers.json, replicate.conf, pg_hba.conf, postgresql.conf,
    sshd_config, and where sshd and PostgreSQL really take a value from) that the setup
    engine's plan for the cluster's architecture would rewrite."""
    facts = await observe_cluster(cluster, conns)
    plan = make_plan(cluster, facts)
    out = []
    for step in plan.steps:
        layout = cluster.server(step.server).layout
        watched = {
            layout.spoolers_json,
            layout.replicate_conf,
            layout.pg_hba_conf,
            layout.postgresql_conf,
            layout.sshd_config,
        }
        # a file of the list, or one a step changes a daemon's value in (PMC's sshd
        # drop-in, postgresql.auto.conf by ALTER SYSTEM)
        if (step.kind is StepKind.WRITE_FILE and step.path in watched) or (
            step.effective and step.path
        ):
            out.append(ConfigDrift(step.server, step.path or "", step.reason, step.diff()))
    return tuple(out)


async def drift_report(
    cluster: Cluster,
    conns: Connections,
    *,
    include_ts_outputs: bool = False,
    config: bool = True,
    primary_name: str | None = None,
) -> DriftReport:
    """Compare the cluster's main and backup (read only)."""
    started = time.monotonic()
    primary, secondary = delta_engine.pair(cluster, primary_name)
    problems: list[str] = []
    options = delta_engine.DeltaOptions(include_ts_outputs=include_ts_outputs, dry_run=True)

    async def data() -> SyncDelta:
        try:
            return await delta_engine.compare(cluster, conns, options, primary_name=primary_name)
        except PmcError as exc:
            problems.append(f"tables and files: {exc}")
            return SyncDelta()

    async def configs() -> tuple[ConfigDrift, ...]:
        if not config:
            return ()
        try:
            return await config_drift(cluster, conns)
        except PmcError as exc:
            problems.append(f"config files: {exc}")
            return ()

    delta, changes = await asyncio.gather(data(), configs())
    return DriftReport(
        cluster.name,
        primary.name,
        secondary.name,
        time.time(),
        time.monotonic() - started,
        delta,
        changes,
        tuple(problems),
    )
