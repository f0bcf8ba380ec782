"""Edges of the database planner that no golden case reaches: a server without eth2 or a
pair without a backup (refused), replicate.conf that does not exist yet (created), root's
known_hosts that already trusts the peer, holds other hosts, or an old key of the peer, a
peer whose host key could not be read."""

from __future__ import annotations

import dataclasses

import pytest

from pmc.inventory import Cluster, Role
from pmc.plan import Plan, StepKind
from pmc.setup import facts as F
from pmc.setup import make_plan
from pmc.setup.database import append_line, pair
from pmc.setup.facts import ServerFacts
from pmc.setup.planning import PlanBuilder, PlanRefused
from tests.setup.test_planners import load_case

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBackupHostKey root@backup\n"


def with_files(facts: ServerFacts, **files: str | None) -> ServerFacts:
    merged = {**dict(facts.files), **files}
    return dataclasses.replace(facts, files=tuple(sorted(merged.items())))


def plan_with(main: dict[str, str | None], backup: dict[str, str | None]) -> Plan:
    cluster, facts, options = load_case("database_fresh")
    facts = {
        "main": with_files(facts["main"], **main),
        "backup": with_files(facts["backup"], **backup),
    }
    return make_plan(cluster, facts, options=options)


def test_a_pair_without_backup_or_eth2_is_refused() -> None:
    cluster, facts, _ = load_case("database_fresh")
    main, backup = cluster.servers
    alone = Cluster(cluster.name, cluster.architecture, (main,))
    with pytest.raises(PlanRefused, match="needs one server with role main and one with role"):
        pair(PlanBuilder(alone, facts))
    no_eth2 = dataclasses.replace(backup, redundancy_address=None, role=Role.BACKUP)
    with pytest.raises(PlanRefused, match="server backup has no redundancy"):
        pair(PlanBuilder(Cluster(cluster.name, cluster.architecture, (main, no_eth2)), facts))


def test_replicate_conf_that_does_not_exist_is_created() -> None:
    plan = plan_with({F.REPLICATE: None}, {})
    (step,) = [s for s in plan.steps if s.server == "main" and s.title.endswith("replicate.conf")]
    assert step.title == "create /opt/playout/api/config/replicate.conf"
    assert step.before is None and step.after == "127.17.59.128\n127.17.59.129\n"


def test_known_hosts_kept_lines_and_an_old_key_replaced() -> None:
    old = "127.17.59.129 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOldOldOld\n"
    other = "10.1.2.3 ssh-rsa AAAAB3Other"  # no final newline: PMC adds one
    plan = plan_with({F.KNOWN_HOSTS: old + other}, {F.HOST_KEY: KEY})
    (step,) = [s for s in plan.steps if s.server == "main" and "known_hosts" in s.title]
    assert "(the entry for 127.17.59.129 there holds a different, old key)" in step.reason
    assert step.after == (
        other + "\n127.17.59.129 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBackupHostKey\n"
    )


def test_known_hosts_that_already_trusts_the_peer_is_left_alone() -> None:
    line = "127.17.59.129 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBackupHostKey\n"
    plan = plan_with({F.KNOWN_HOSTS: line}, {F.HOST_KEY: KEY})
    assert not [s for s in plan.steps if s.server == "main" and "known_hosts" in s.title]
    assert any(
        n.subject == "backup's host key in known_hosts" and "already trusts it" in n.reason
        for n in plan.unchanged
    )


def test_a_peer_host_key_that_cannot_be_read_is_a_note() -> None:
    plan = plan_with({}, {F.HOST_KEY: "garbage\n"})
    assert any("backup's ed25519 host key could not be read" in n for n in plan.notes)
    assert not [s for s in plan.steps if s.server == "main" and "known_hosts" in s.title]
    assert append_line(None, "x") == "x\n" and append_line("a", "b\n") == "a\nb\n"
    assert not [s for s in plan.steps if s.kind is StepKind.AUTHORIZE_KEY and not s.key_path]
