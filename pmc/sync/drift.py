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
from collections.abc import Mapping
from dataclasses import dataclass, field

from pmc.errors import PmcError
from pmc.inventory import Cluster
from pmc.plan import StepKind
from pmc.remote.connection import Connection
from pmc.setup import make_plan
from pmc.setup.observe import observe_cluster
from pmc.sync import delta_engine
from pmc.sync.delta import FolderDelta, SyncDelta, TableDelta, format_key
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
            out.append(
                f"  table {table.table}: {len(table.only_primary)} only on {self.primary}, "
                f"{len(table.only_secondary)} only on {self.secondary}, "
                f"{len(table.differing)} differing"
            )
            for label, keys in (
                (f"only on {self.primary}", table.only_primary),
                (f"only on {self.secondary}", table.only_secondary),
                ("differing", table.differing),
            ):
                out += [f"    {label}: {format_key(k)}" for k in keys[:limit]]
                if len(keys) > limit:
                    out.append(f"    {label}: … {len(keys) - limit} more")
        for folder in self.folders:
            out.append(
                f"  folder {folder.folder}: {len(folder.only_primary)} only on {self.primary}, "
                f"{len(folder.only_secondary)} only on {self.secondary}, "
                f"{len(folder.differing)} differing"
            )
            for label, paths in (
                (f"only on {self.primary}", folder.only_primary),
                (f"only on {self.secondary}", folder.only_secondary),
                ("differing", folder.differing),
            ):
                out += [f"    {label}: {p}" for p in paths[:limit]]
        for change in self.config:
            out.append(f"  config [{change.server}] {change.subject}: {change.reason}")
            out += ["    " + line for line in change.diff.splitlines()]
        for name, why in self.delta.database.skipped:
            out.append(f"  not compared: table {name} ({why})")
        out += [f"  could not read: {p}" for p in self.problems]
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
