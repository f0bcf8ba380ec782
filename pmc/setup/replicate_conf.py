"""replicate.conf, planned once for every architecture that has copy config: the addresses
the Web Console's copy config reads (the server's own first, then its peers'), each checked
to belong to the cluster; the reason names any address the file lists that belongs to no
server of the cluster."""

from __future__ import annotations

from collections.abc import Iterable

from pmc.configs.replicate import ReplicateConf
from pmc.inventory import Cluster, Server
from pmc.setup import facts as F
from pmc.setup.planning import PlanBuilder, ensure_in_cluster, foreign_addresses


def strangers_note(cluster: Cluster, addresses: Iterable[object]) -> str:
    """`` (it now lists …, which belongs to no server of the cluster)``, or nothing."""
    strangers = foreign_addresses(cluster, addresses)
    if not strangers:
        return ""
    return f" (it now lists {', '.join(strangers)}, which belongs to no server of the cluster)"


def plan_replicate_conf(
    builder: PlanBuilder, server: Server, wanted: list[str], *, reason: str, already: str
) -> None:
    """replicate.conf of ``server`` listing ``wanted`` in that order."""
    ensure_in_cluster(builder.cluster, wanted, where=f"{server.name}:replicate.conf")
    _, doc = builder.document(server, F.REPLICATE)
    extra = strangers_note(builder.cluster, doc.addresses) if isinstance(doc, ReplicateConf) else ""

    def edit(d: object) -> bool:
        assert isinstance(d, ReplicateConf)
        return d.set_addresses(wanted)

    builder.wish(
        server, F.REPLICATE, "replicate.conf addresses", edit, reason=reason + extra,
        already=already,
    )  # fmt: skip
