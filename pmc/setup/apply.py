"""The one executor: apply exactly the plan the operator saw, or leave every server as it was.

Order of work:

0. Take the cluster lock on every server the plan changes (:mod:`pmc.cluster_lock`): another
   PMC job on the cluster stops the apply here, naming who runs it.
1. Observe every server again and compare with the plan's fingerprints: a server that changed
   since the plan stops the apply before anything is written (:class:`PlanOutdated`).
2. Each step in plan order, with a safe point (cancel) between steps. A file is written
   atomically with a timestamped backup next to it; a command's undo and the files it creates
   are recorded before it runs; a restarted service must be active again, and Playout API's
   log must show the new ``spoolers`` and ``ipAddresses`` lines. A CHECK step asks the daemon
   whether a value took effect (:func:`pmc.setup.effective.check`); one that did not fails.
3. On any failure — or a cancel — every recorded change (the change ledger shared with the
   import, :mod:`pmc.change_ledger`) is undone on every server, newest first: backups
   restored (and then deleted), created files removed, undo commands run; then the services
   of every server that was touched are restarted and checked. The report says
   what was rolled back and anything that could not be.

Every write and command goes to the audit log with its diff, the job, the OS user and time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pmc.change_ledger import ChangeLedger, Undo, undo_change
from pmc.cluster_lock import ClusterBusy, cluster_lock, hold_again
from pmc.errors import Cancelled, PmcError
from pmc.inventory import Cluster, Server
from pmc.jobs import JobContext
from pmc.plan import Plan, Step, StepKind
from pmc.remote import commands, files, services
from pmc.remote.connection import Connection
from pmc.setup import effective
from pmc.setup.database import append_line, has_key
from pmc.setup.facts import ServerFacts
from pmc.setup.observe import Connections, observe_cluster
from pmc.store import Store
from pmc.words import plural

LOG_WAIT = 20.0  # seconds to wait for the API's start-up lines


class PlanOutdated(PmcError):
    """A server changed between the plan and the apply; nothing was changed."""


class SetupFailed(PmcError):
    """A step failed; the report says what was rolled back."""

    def __init__(self, what: str, report: ApplyReport) -> None:
        self.report = report
        super().__init__(what, hint=report.rollback_summary())


class SetupCancelled(Cancelled):
    """The operator cancelled the apply; :attr:`report` says what was rolled back."""

    def __init__(self, report: ApplyReport) -> None:
        self.report = report
        super().__init__("the setup was cancelled by the operator", hint=report.rollback_summary())


@dataclass
class ApplyReport:
    cluster: str
    applied: list[str] = field(default_factory=list)
    failed_step: str | None = None
    error: str | None = None
    rolled_back: list[str] = field(default_factory=list)
    rollback_problems: list[str] = field(default_factory=list)
    backups: list[tuple[str, str, str]] = field(default_factory=list)  # server, path, backup

    @property
    def ok(self) -> bool:
        return self.failed_step is None and self.error is None

    def rollback_summary(self) -> str:
        if not self.rolled_back and not self.rollback_problems:
            return "Nothing had been changed yet."
        text = "Rolled back: " + "; ".join(self.rolled_back) + "."
        if not self.rolled_back:
            text = "Nothing was rolled back."
        if self.rollback_problems:
            text += " COULD NOT roll back: " + "; ".join(self.rollback_problems) + "."
        return text

    def __str__(self) -> str:
        if self.ok:
            return f"{plural(len(self.applied), 'step')} applied to cluster {self.cluster}"
        return f"step failed: {self.failed_step}: {self.error}. {self.rollback_summary()}"


Observer = Callable[[Cluster, Connections], Awaitable[dict[str, ServerFacts]]]


class Executor:
    def __init__(
        self,
        plan: Plan,
        cluster: Cluster,
        conns: Connections,
        ctx: JobContext,
        *,
        store: Store | None = None,
        observe: Observer = observe_cluster,
    ) -> None:
        self.plan = plan
        self.cluster = cluster
        self.conns = conns
        self.ctx = ctx
        self.store = store
        self.observe = observe
        self.report = ApplyReport(cluster.name)
        self.ledger = ChangeLedger()  # what was changed, undone newest first on rollback
        self._touched: dict[str, set[str]] = {}  # server -> services to restart on rollback

    # ---- entry ---------------------------------------------------------------------------

    async def run(self) -> ApplyReport:
        servers = [self._conn(name) for name in self.plan.servers]
        job = f"setup apply ({self.plan.architecture}) to {self.cluster.name}"
        async with cluster_lock(servers, job=job, log=self.ctx.log):
            return await self._run_locked()

    async def _run_locked(self) -> ApplyReport:
        with self.ctx.step("check that no server changed since the plan"):
            await self._check_fingerprints()
        total = len(self.plan.steps)
        try:
            for number, step in enumerate(self.plan.steps, 1):
                self.ctx.checkpoint()
                self.ctx.progress(number - 1, total, unit="steps")
                with self.ctx.step(step.action(), server=step.server):
                    await self._apply(step)
                self.report.applied.append(step.summary())
            self.ctx.progress(total, total, unit="steps")
        except (Cancelled, asyncio.CancelledError) as exc:
            self.report.failed_step = "cancelled by the operator"
            self.report.error = "cancelled"
            await asyncio.shield(self._rollback())
            raise SetupCancelled(self.report) from exc
        except Exception as exc:
            failed = self.plan.steps[len(self.report.applied)]
            self.report.failed_step = failed.summary()
            self.report.error = str(exc)
            await self._rollback()
            raise SetupFailed(f"{failed.summary()} failed: {exc}", self.report) from exc
        return self.report

    async def _check_fingerprints(self) -> None:
        facts = await self.observe(self.cluster, self.conns)
        changed = [
            name
            for name, fingerprint in self.plan.fingerprints
            if name in facts and facts[name].fingerprint != fingerprint
        ]
        if changed:
            raise PlanOutdated(
                f"{', '.join(changed)} changed since the plan was made; nothing was changed",
                hint="Make the plan again, review it, and apply the new one.",
            )

    # ---- steps ---------------------------------------------------------------------------

    def _server(self, name: str) -> Server:
        return self.cluster.server(name)

    def _conn(self, name: str) -> Connection:
        return self.conns[name]

    def _audit(self, step: Step, action: str, detail: dict[str, object]) -> None:
        if self.store is not None:
            self.store.audit(
                action,
                target=step.path or step.service or " ".join(step.argv),
                detail={"title": step.title, "reason": step.reason, **detail},
                job_id=self.ctx.job_id,
                cluster=self.cluster.name,
                server=step.server,
            )

    async def _apply(self, step: Step) -> None:
        if step.kind is StepKind.WRITE_FILE:
            assert step.path is not None and step.after is not None
            await self._write(step, step.after)
        elif step.kind is StepKind.AUTHORIZE_KEY:
            await self._authorize(step)
        elif step.kind is StepKind.RUN:
            await self._run(step)
        elif step.kind is StepKind.CHECK:
            assert step.probe is not None
            said = await effective.check(
                step.probe, self._conn(step.server), self._server(step.server)
            )
            self.ctx.log(said, server=step.server)
        else:
            await self._restart(step)

    async def _write(self, step: Step, after: str) -> None:
        assert step.path is not None
        conn = self._conn(step.server)
        result = await files.write_atomic(conn, step.path, after, new_mode=step.mode)
        self.ledger.wrote(step.server, step.path, result.backup)
        if result.backup:
            self.report.backups.append((step.server, step.path, result.backup))
        self.ctx.log(
            f"wrote {step.path} (backup: {result.backup or 'new file'})", server=step.server
        )
        self._audit(step, "write-file", {"diff": step.diff(), "backup": result.backup})

    async def _authorize(self, step: Step) -> None:
        assert step.key_server and step.key_path
        key_text = await files.read_text(self._conn(step.key_server), step.key_path)
        lines = [line for line in key_text.splitlines() if line.strip()]
        if len(lines) != 1 or not lines[0].startswith("ssh-"):
            raise PmcError(
                f"{step.key_path} does not hold one public key",
                where=step.key_server,
                hint="Check the key file; PMC copies only a single 'ssh-… AAAA…' line.",
            )
        if has_key(step.before, lines[0]):
            self.ctx.log(f"{step.path} already holds the key", server=step.server)
            return
        await self._write(step, append_line(step.before, lines[0]))

    async def _run(self, step: Step) -> None:
        conn = self._conn(step.server)
        for created in step.creates:
            self.ledger.creates(step.server, created)
        for undo in step.undo:
            self.ledger.reverse_with(step.server, undo)

        def line(out: commands.OutputLine) -> None:
            self.ctx.log(out.text, server=step.server, level="info")

        result = await commands.run(conn, list(step.argv), root=True, timeout=300, on_line=line)
        self._audit(step, "run", {"argv": list(step.argv), "exit_status": result.exit_status})
        if not result.ok:
            tail = (result.stderr.strip() or result.stdout.strip())[-300:]
            raise PmcError(
                f"{step.command_text()} exited with status {result.exit_status}: {tail}",
                where=self._conn(step.server).label,
            )

    async def _restart(self, step: Step) -> None:
        assert step.service is not None
        conn = self._conn(step.server)
        # the daemon's own check first: a configuration it refuses is rolled back, and the
        # service, never restarted, keeps running on its old files
        checked = await services.check_config(conn, step.service)
        if checked:
            self.ctx.log(checked, server=step.server)
        self._touched.setdefault(step.server, set()).add(step.service)
        offset = 0
        if step.log_path:
            stat = 'stat -c %s -- "$1" 2>/dev/null || echo 0'
            size = await commands.run(
                conn, ["sh", "-c", stat, "pmc", step.log_path], root=True, timeout=30
            )
            offset = int(size.stdout.strip() or "0")
        await services.restart_active(conn, step.service, checked=True)
        self._audit(step, "restart", {"service": step.service})
        if step.expect_log and step.log_path:
            await self._wait_log(conn, step, offset)

    async def _wait_log(self, conn: Connection, step: Step, offset: int) -> None:
        assert step.log_path
        deadline = time.monotonic() + LOG_WAIT
        missing = list(step.expect_log)
        while True:
            result = await commands.run(
                conn, ["tail", "-c", f"+{offset + 1}", step.log_path], root=True, timeout=30
            )
            missing = [want for want in step.expect_log if want not in result.stdout]
            if not missing:
                for want in step.expect_log:
                    self.ctx.log(f"log shows: {want}", server=step.server)
                return
            if time.monotonic() > deadline:
                raise PmcError(
                    f"{step.log_path} does not show {missing[0]!r} after the restart",
                    where=conn.label,
                    hint="The API may have read other files than PMC wrote; check its log.",
                )
            await asyncio.sleep(0.2)

    # ---- rollback ------------------------------------------------------------------------

    async def _rollback(self) -> None:
        if not self.ledger and not self._touched:
            return
        with self.ctx.step("roll back every change"):
            try:  # a dropped connection ended the servers' locks: take them again first
                await hold_again(self.conns.values(), self.ctx.log)
            except ClusterBusy as exc:  # another job works there now: leave it alone
                self.report.rollback_problems.append(str(exc))
                return
            for undo in self.ledger.newest_first():
                try:
                    await self._undo_one(undo)
                except Exception as exc:
                    self.report.rollback_problems.append(f"{undo.server}: {undo.path}: {exc}")
            # a service restarted with the new files runs them: restart it on the old ones
            for server_name, units in self._touched.items():
                layout = self._server(server_name).layout
                order = [
                    layout.postgresql_service,
                    layout.sshd_service,
                    layout.api_service,
                ]
                for service in sorted(units, key=lambda s: order.index(s) if s in order else 9):
                    conn = self._conn(server_name)
                    try:
                        # on the old files, which the daemon ran before: no check first
                        await services.restart_active(conn, service, checked=True)
                        self.report.rolled_back.append(f"{server_name}: restarted {service}")
                    except Exception as exc:
                        self.report.rollback_problems.append(
                            f"{server_name}: {service} did not come back: {exc}"
                        )
            self.ctx.log(self.report.rollback_summary(), level="warning")
            if self.store is not None:
                self.store.audit(
                    "rollback",
                    detail={
                        "rolled_back": self.report.rolled_back,
                        "problems": self.report.rollback_problems,
                    },
                    job_id=self.ctx.job_id,
                    cluster=self.cluster.name,
                )

    async def _undo_one(self, undo: Undo) -> None:
        said = await undo_change(self._conn(undo.server), undo)
        self.report.rolled_back.append(f"{undo.server}: {said}")


async def apply_plan(
    plan: Plan,
    cluster: Cluster,
    conns: Connections,
    ctx: JobContext,
    *,
    store: Store | None = None,
    observe: Observer = observe_cluster,
) -> ApplyReport:
    """Apply ``plan`` (see the module docs); raises SetupFailed after a rollback."""
    return await Executor(plan, cluster, conns, ctx, store=store, observe=observe).run()
