"""The redundancy setup engine: observe → plan → apply → verify, for every architecture.

:func:`make_plan` is pure (facts in, :class:`~pmc.plan.Plan` out); :mod:`pmc.setup.observe`
reads the facts over SSH, :mod:`pmc.setup.apply` applies a plan as a Job with rollback, and
:mod:`pmc.setup.verify` runs the manual's checks.
"""

from __future__ import annotations

from pmc.inventory import Architecture, Cluster
from pmc.plan import Plan
from pmc.setup.admin_player import plan_admin_player
from pmc.setup.database import plan_database
from pmc.setup.facts import ServerFacts
from pmc.setup.planning import PlanBuilder, PlanRefused, SetupOptions, validate_cluster
from pmc.setup.web import plan_web

SUPPORTED = (
    Architecture.WEB_ONE_WAY,
    Architecture.WEB_SYMMETRIC,
    Architecture.DATABASE,
    Architecture.COMBINED,
    Architecture.ADMIN_PLAYER,
)


def make_plan(
    cluster: Cluster,
    facts: dict[str, ServerFacts],
    architecture: Architecture | str | None = None,
    options: SetupOptions | None = None,
) -> Plan:
    """The steps that bring ``cluster`` to ``architecture`` from the observed ``facts``."""
    arch = Architecture(architecture or cluster.architecture)
    if arch not in SUPPORTED:
        raise PlanRefused(
            f"PMC does not set up the architecture {arch.title!r}",
            hint="Choose one of: "
            + "; ".join(a.title for a in SUPPORTED)
            + ".",  # titles hold commas
        )
    validate_cluster(cluster)
    builder = PlanBuilder(cluster, facts, options or SetupOptions())
    if arch is Architecture.WEB_ONE_WAY:
        plan_web(builder, symmetric=False)
    elif arch is Architecture.WEB_SYMMETRIC:
        plan_web(builder, symmetric=True)
    elif arch is Architecture.DATABASE:
        plan_database(builder)
    elif arch is Architecture.COMBINED:
        plan_database(builder)
        plan_web(builder, symmetric=True)
    else:
        plan_admin_player(builder)
    return builder.build(arch.value)


__all__ = ["PlanRefused", "ServerFacts", "SetupOptions", "make_plan"]
