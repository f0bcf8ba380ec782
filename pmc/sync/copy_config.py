"""The Playout engine: Playout's own ``copy_config.sh``, with the failures of the vendor's
manual fixed.

Runs ``copy_config.sh PRIMARY SECONDARY`` on the primary with the eth2 (redundancy) addresses
of the inventory, streams its output into the job's log and progress (stages from
:mod:`pmc.sync.copy_output`), and on a failure the seed documents proposes a remediation — a
:class:`~pmc.plan.Plan` the operator confirms — then tries again:

- ``Checking failover on slave... returned 127``: run ``check_failover.sh PRIMARY`` on the
  secondary;
- ``Create replication system... returned 255``: the setup engine's verify names the missing
  prerequisite (listen_addresses, pg_hba, firewall, keys) and its database plan fixes it;
- ``Skip replication: replication is already in progress``: after checking that no
  copy_config.sh process runs on any server, stopping slon processes left behind by an earlier
  copy (a slon outlives copy_config's ``kill -9`` of its watchdog parent), then
  ``replication_stopped.sh`` on the primary.

Cancelling stops copy_config.sh's process group at once; since that also stops the script's
own clean-up, PMC does it (:func:`clean_up_after_stop`): the run's slon processes, then
``replication_stopped.sh``, each logged; the job ends cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from pmc.errors import PmcError
from pmc.inventory import Architecture, Cluster, Server
from pmc.jobs import JobContext
from pmc.plan import Plan, Step, StepKind
from pmc.remote import commands
from pmc.remote.connection import Connection
from pmc.setup import make_plan
from pmc.setup.apply import apply_plan
from pmc.setup.observe import observe_cluster
from pmc.setup.verify import check_database
from pmc.store import Store
from pmc.sync.copy_output import CopyConfigProgress, Failure, FailureKind
from pmc.sync.delta_engine import pair
from pmc.words import plural

Connections = Mapping[str, Connection]

# Processes of a copy ([c] keeps the pattern from matching the shell that runs it).
_SCRIPT_PATTERN = "pgrep -a -f '[c]opy_config[.]sh'; exit 0"
# slon processes as ``PID ARGS`` (pgrep -a's form), without zombies: a slon worker killed by
# copy_config.sh lingers as a zombie until it is reaped, and is no running slon.
_SLON_PATTERN = (
    "for pid in $(pgrep -x slon); do"
    " state=$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null | cut -c1);"
    ' [ -n "$state" ] && [ "$state" != Z ] &&'
    " echo \"$pid $(tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null)\"; done; exit 0"
)


class CopyConfigFailed(PmcError):
    """copy_config.sh failed and was not (or could not be) remediated."""

    def __init__(self, what: str, *, where: str, hint: str | None, failure: Failure | None) -> None:
        super().__init__(what, where=where, hint=hint)
        self.failure = failure


@dataclass(frozen=True)
class Remediation:
    """A known failure, what PMC found out about it, and the plan that fixes it."""

    failure: Failure
    explanation: str
    plan: Plan
    findings: tuple[str, ...] = ()  # what PMC checked before proposing the plan

    def steps_text(self) -> str:
        """What the fix does, in a few words ("run check_failover.sh on backup")."""
        return "; ".join(step.title for step in self.plan.steps)

    def lines(self) -> list[str]:
        out = [f"copy_config.sh failed: {self.failure.explain()}.", *self.findings]
        out.append("PMC proposes:")
        out += [f"  {s.summary()} — {s.reason}" for s in self.plan.steps]
        for step in self.plan.steps:
            out += ["    " + line for line in step.diff().splitlines()]
        return out


Confirm = Callable[[Remediation], Awaitable[bool]]


async def refuse(_remediation: Remediation) -> bool:
    """The default answer when nobody can be asked (the daemon): do not remediate."""
    return False


@dataclass
class CopyConfigResult:
    cluster: str
    primary: str
    secondary: str
    attempts: int = 0
    remediated: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"copy config {self.primary} → {self.secondary} finished"
        if self.remediated:
            fixes = plural(len(self.remediated), "fix", "fixes")
            text += f" after {fixes}: " + "; ".join(self.remediated)
        return text


def command(primary: Server, secondary: Server) -> list[str]:
    """``copy_config.sh PRIMARY SECONDARY`` with the eth2 addresses (the manual's order)."""
    if not primary.redundancy_address or not secondary.redundancy_address:
        missing = primary if not primary.redundancy_address else secondary
        raise CopyConfigFailed(
            f"server {missing.name} has no redundancy (eth2) address in the inventory",
            where=missing.name,
            hint="Add its eth2 address: copy config runs over the direct link between servers.",
            failure=None,
        )
    return [
        primary.layout.copy_config_script,
        primary.redundancy_address,
        secondary.redundancy_address,
    ]


async def run_once(
    primary: Server, secondary: Server, conns: Connections, ctx: JobContext
) -> CopyConfigProgress:
    """One run of copy_config.sh with its output streamed into the job.

    Cancel is honoured at once, even while the script is silent (Slony's copy logs only to
    its file): PMC stops the script's process group, which also stops the script's own
    failure handler, so PMC does that clean-up itself (:func:`clean_up_after_stop`) and then
    raises :class:`~pmc.errors.Cancelled`.
    """
    argv = command(primary, secondary)
    progress = CopyConfigProgress()
    conn = conns[primary.name]
    running = await commands.start(conn, argv, root=True, timeout=None)

    async def read() -> None:
        async for line in running:
            ctx.log(line.text, server=primary.name, level="info")
            for stage in progress.feed(line.text):
                ctx.progress(progress.fraction, 1.0, message=stage.title)

    async def cancel_pressed() -> None:
        while not ctx.cancel_requested.is_set():
            await asyncio.sleep(0.2)

    reading = asyncio.ensure_future(read())
    watching = asyncio.ensure_future(cancel_pressed())
    try:
        await asyncio.wait({reading, watching}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # this task was cancelled (the runner is closing)
        watching.cancel()
        await asyncio.shield(_stop_and_clean_up(running, reading, primary, secondary, conns, ctx,
                                                progress))  # fmt: skip
        raise
    watching.cancel()
    if not reading.done():
        await _stop_and_clean_up(running, reading, primary, secondary, conns, ctx, progress)
        ctx.checkpoint()
    reading.result()  # the script's end, or what went wrong while reading it
    progress.finish(running.result.exit_status)
    return progress


async def _stop_and_clean_up(  # noqa: PLR0917 - one run's pieces
    running: commands.RunningCommand,
    reading: asyncio.Future[None],
    primary: Server,
    secondary: Server,
    conns: Connections,
    ctx: JobContext,
    progress: CopyConfigProgress,
) -> None:
    stage = progress.current.title if progress.current else "before its first stage"
    ctx.log(
        f"stopping copy_config.sh on {primary.name} (at: {stage})",
        level="warning",
        server=primary.name,
    )
    await running.stop()
    reading.cancel()
    with contextlib.suppress(BaseException):
        await reading
    await clean_up_after_stop(primary, secondary, conns, ctx, progress)


async def clean_up_after_stop(
    primary: Server,
    secondary: Server,
    conns: Connections,
    ctx: JobContext,
    progress: CopyConfigProgress | None = None,
) -> None:
    """What copy_config.sh's own failure handler does, after PMC stopped the script: stop the
    slon processes of that run (on the primary, where the script starts them) and mark the
    replication as stopped on the primary (``replication_stopped.sh``), so that the next copy
    is not refused with "replication is already in progress". PMC stopped the script itself,
    so it knows no copy is running. Each action is logged in the job."""
    conn = conns[primary.name]
    hosts = {primary.redundancy_address, secondary.redundancy_address} - {None}
    try:
        found = await commands.run(conn, ["sh", "-c", _SLON_PATTERN], root=True)
        ours = [
            line
            for line in found.stdout.splitlines()
            if any(f"host={host}" in line.split() for host in hosts)
        ]
        if ours:
            pids = [line.split()[0] for line in ours]
            await commands.run(conn, ["kill", "-KILL", *pids], root=True)
            ctx.log(
                f"stopped {len(pids)} slon process(es) left by the stopped copy on "
                f"{primary.name}: " + "; ".join(ours),
                level="warning",
                server=primary.name,
            )
        else:
            ctx.log(f"no slon process of the stopped copy runs on {primary.name}",
                    server=primary.name)  # fmt: skip
        result = await commands.run(conn, [primary.layout.replication_stopped_script], root=True)
        if result.ok:
            ctx.log(
                f"ran {primary.layout.replication_stopped_script} on {primary.name}: the "
                "replication status is 'stopped' again (no copy is running: PMC stopped it)",
                level="warning",
                server=primary.name,
            )
        else:
            ctx.log(
                f"{primary.layout.replication_stopped_script} failed on {primary.name} "
                f"({result.ending}); the next copy may say 'already in progress'",
                level="error",
                server=primary.name,
            )
    except PmcError as exc:
        ctx.log(
            f"could not clean up after stopping copy_config.sh on {primary.name}: {exc}",
            level="error",
            server=primary.name,
        )
    if progress is not None and progress.stages and "finished" not in progress.stages:
        keys = progress.stages
        if "stop-services" in keys and "restart-services" not in keys:
            ctx.log(
                f"copy_config.sh had stopped Playout's services on {secondary.name} and had "
                f"not copied everything: synchronize {secondary.name} to the end before "
                "relying on it",
                level="warning",
                server=secondary.name,
            )


async def running_copies(cluster: Cluster, conns: Connections) -> tuple[list[str], list[str]]:
    """copy_config.sh and slon processes on the servers of the cluster (``server: ps line``)."""
    scripts: list[str] = []
    slons: list[str] = []
    for server in cluster.servers:
        conn = conns[server.name]
        for pattern, found in ((_SCRIPT_PATTERN, scripts), (_SLON_PATTERN, slons)):
            result = await commands.run(conn, ["sh", "-c", pattern], root=True)
            found += [f"{server.name}: {x}" for x in result.stdout.splitlines() if x.strip()]
    return scripts, slons


def _plan(cluster: Cluster, title: str, steps: tuple[Step, ...]) -> Plan:
    return Plan(cluster=cluster.name, architecture=title, steps=steps)


async def remediation(
    failure: Failure, cluster: Cluster, conns: Connections, primary: Server, secondary: Server
) -> Remediation | None:
    """The fix for ``failure``, or None when PMC knows none (the error then says why)."""
    if failure.kind is FailureKind.FAILOVER_NOT_CHECKED:
        assert primary.redundancy_address
        step = Step(
            StepKind.RUN,
            secondary.name,
            f"run check_failover.sh on {secondary.name}",
            f"copy_config.sh checks that {secondary.name} knows its failover peer "
            f"{primary.redundancy_address}; the vendor's manual runs check_failover.sh with "
            f"the address of {primary.name}",
            argv=(secondary.layout.check_failover_script, primary.redundancy_address),
        )
        return Remediation(failure, failure.explain(), _plan(cluster, "copy-config-fix", (step,)))
    if failure.kind is FailureKind.ALREADY_IN_PROGRESS:
        return await _in_progress_fix(failure, cluster, conns, primary)
    if failure.kind is FailureKind.SECONDARY_DATABASE:
        checks = await check_database(cluster, conns)
        failed = tuple(f"Missing: {c}" for c in checks if not c.ok)
        facts = await observe_cluster(cluster, conns)
        plan = make_plan(cluster, facts, Architecture.DATABASE)
        if plan.is_empty:
            return None
        return Remediation(failure, failure.explain(), plan, failed)
    return None


async def _in_progress_fix(
    failure: Failure, cluster: Cluster, conns: Connections, primary: Server
) -> Remediation:
    scripts, slons = await running_copies(cluster, conns)
    if scripts:
        raise CopyConfigFailed(
            "a copy config is still running: " + "; ".join(scripts[:4]),
            where=primary.name,
            hint="Wait until it ends, then synchronize again. Do not reset the status "
            "while it runs (the vendor's manual's warning).",
            failure=failure,
        )
    names = ", ".join(s.name for s in cluster.servers)
    findings = [f"No copy_config.sh process runs on {names}."]
    steps: list[Step] = []
    for server_name in sorted({line.split(":", 1)[0] for line in slons}):
        findings.append(
            f"slon processes left behind by an earlier copy run on {server_name}: "
            + "; ".join(line.split(": ", 1)[1] for line in slons if line.startswith(server_name))
        )
        steps.append(
            Step(
                StepKind.RUN,
                server_name,
                f"stop the leftover slon processes on {server_name}",
                "no copy_config.sh runs, so these slon processes belong to no copy",
                argv=("pkill", "-KILL", "-x", "slon"),
            )
        )
    if not slons:
        findings.append(f"No slon process runs on {names}.")
    steps.append(
        Step(
            StepKind.RUN,
            primary.name,
            f"reset the replication status on {primary.name}",
            "no copy is running, so the status 'running' was left behind by a copy that stopped",
            argv=(primary.layout.replication_stopped_script,),
        )
    )
    plan = _plan(cluster, "copy-config-fix", tuple(steps))
    return Remediation(failure, failure.explain(), plan, tuple(findings))


async def apply_remediation(
    fix: Remediation, cluster: Cluster, conns: Connections, ctx: JobContext, store: Store | None
) -> None:

    with ctx.step(f"fix: {fix.steps_text()}"):
        await apply_plan(fix.plan, cluster, conns, ctx, store=store)


async def copy_config(
    cluster: Cluster,
    conns: Connections,
    ctx: JobContext,
    *,
    confirm: Confirm = refuse,
    store: Store | None = None,
    primary_name: str | None = None,
    max_fixes: int = 3,
) -> CopyConfigResult:
    """Run copy config; remediate known failures the operator confirms; retry."""
    primary, secondary = pair(cluster, primary_name)
    result = CopyConfigResult(cluster.name, primary.name, secondary.name)
    while True:
        result.attempts += 1
        with ctx.step(f"copy_config.sh on {primary.name} (attempt {result.attempts})",
                      server=primary.name):  # fmt: skip
            progress = await run_once(primary, secondary, conns, ctx)
        if progress.succeeded:
            return result
        failure = progress.failure
        assert failure is not None
        ctx.log(f"copy_config.sh failed: {failure.explain()}", level="error", server=primary.name)
        log_hint = f"Read {primary.layout.copy_config_log} on {primary.name}."
        if len(result.remediated) >= max_fixes:
            fixes = plural(len(result.remediated), "fix", "fixes")
            raise CopyConfigFailed(
                f"copy_config.sh still fails after {fixes}: {failure.explain()}",
                where=primary.name,
                hint=log_hint,
                failure=failure,
            )
        fix = await remediation(failure, cluster, conns, primary, secondary)
        if fix is None:
            raise CopyConfigFailed(
                f"copy_config.sh failed: {failure.explain()}",
                where=primary.name,
                hint=log_hint,
                failure=failure,
            )
        for line in fix.lines():
            ctx.log(line, level="warning")
        if not await confirm(fix):
            raise CopyConfigFailed(
                f"copy_config.sh failed: {failure.explain()}; the proposed fix was not confirmed",
                where=primary.name,
                hint="Run the sync again and confirm the fix, or apply it by hand: "
                + "; ".join(s.summary() for s in fix.plan.steps),
                failure=failure,
            )
        await ctx.acheckpoint()
        await apply_remediation(fix, cluster, conns, ctx, store)
        result.remediated.append(fix.steps_text())
