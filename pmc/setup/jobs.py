"""The setup engine's jobs, the one way both front ends run it: :func:`plan_setup` (observe
and plan, awaited by the wizard and run by :func:`plan_job` for ``pmc setup plan``),
:func:`apply_job` and :func:`verify_job` (a :class:`pmc.jobs.Job` the CLI follows and the
GUI's jobs panel shows). Glue only: every decision is :mod:`pmc.setup`'s."""

from __future__ import annotations

from pmc.errors import PmcError
from pmc.inventory import Architecture, Cluster
from pmc.jobs import Job, JobContext
from pmc.plan import Plan
from pmc.setup import SetupOptions, make_plan
from pmc.setup.apply import ApplyReport, apply_plan
from pmc.setup.observe import observe_cluster
from pmc.setup.verify import VerifyReport, verify
from pmc.workspace import Workspace


class VerifyFailed(PmcError):
    """Verify ran and some checks failed; :attr:`report` has them all."""

    def __init__(self, report: VerifyReport) -> None:
        self.report = report
        failed = report.failed
        super().__init__(
            f"{len(failed)} of {len(report.checks)} checks fail: "
            + "; ".join(f"[{c.server}] {c.name}" for c in failed[:4])
        )


async def plan_setup(
    workspace: Workspace, cluster: Cluster, architecture: Architecture, options: SetupOptions
) -> Plan:
    """Observe every server of ``cluster`` (over SSH) and plan ``architecture``."""
    facts = await observe_cluster(cluster, workspace.connections(cluster))
    return make_plan(cluster, facts, architecture, options)


def plan_job(
    workspace: Workspace, cluster: Cluster, architecture: Architecture, options: SetupOptions
) -> Job[Plan]:
    """:func:`plan_setup` as a job (recorded in the history, its steps shown)."""

    async def body(ctx: JobContext) -> Plan:
        with ctx.step("observe the servers"):
            return await plan_setup(workspace, cluster, architecture, options)

    title = f"Plan {architecture.title} for {cluster.name}"
    return Job("setup-plan", title, body, cluster=cluster.name, store=workspace.store)


def apply_job(workspace: Workspace, cluster: Cluster, plan: Plan) -> Job[ApplyReport]:
    async def body(ctx: JobContext) -> ApplyReport:
        return await apply_plan(
            plan, cluster, workspace.connections(cluster), ctx, store=workspace.store
        )

    title = f"Set up {Architecture(plan.architecture).title} on {cluster.name}"
    return Job("setup", title, body, cluster=cluster.name, store=workspace.store)


def verify_job(
    workspace: Workspace,
    cluster: Cluster,
    architecture: Architecture | None = None,
    *,
    end_to_end: bool = False,
) -> Job[VerifyReport]:
    """The manual's checks, each logged; a failed check fails the job (:class:`VerifyFailed`
    with the whole report). ``end_to_end``: copy config runs once too (it changes backup)."""
    arch = architecture or cluster.architecture

    async def body(ctx: JobContext) -> VerifyReport:
        with ctx.step(f"Verify {arch.title}"):
            report = await verify(
                cluster, workspace.connections(cluster), arch, end_to_end_check=end_to_end
            )
        for check in report.checks:
            ctx.log(str(check), level="info" if check.ok else "error", server=check.server)
        if not report.ok:
            raise VerifyFailed(report)
        return report

    return Job(
        "verify", f"Verify {cluster.name}", body, cluster=cluster.name, store=workspace.store
    )
