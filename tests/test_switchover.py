"""Switchover plans (pure): with web redundancy one way the active server becomes the master
and the former master stops forwarding (the manual's "redundancy from backup to main"), a
server that cannot be reached gets no step, a second plan after the apply is empty, and
architectures that list every server first change nothing on the servers; the refusals."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from pmc.configs import replicate, spoolers
from pmc.errors import InputError
from pmc.inventory import Architecture, Cluster, Role, Server, SyncSchedule
from pmc.plan import StepKind
from pmc.setup import make_plan
from pmc.switchover import SwitchoverPlan, plan_switchover, server_plan
from tests.setup.test_planners import apply_in_memory, load_case


def one_way_set_up() -> tuple[Cluster, dict[str, object]]:
    cluster, facts, options = load_case("web_one_way_fresh")
    return cluster, apply_in_memory(make_plan(cluster, facts, options=options), facts)  # type: ignore[return-value]


def written(plan: object, server: str, name: str) -> str:
    for step in plan.steps:  # type: ignore[attr-defined]
        if step.server == server and step.path and step.path.endswith(name):
            return str(step.after)
    raise AssertionError(f"no write of {name} on {server}")


def test_one_way_the_active_server_becomes_the_master_and_the_other_stops_forwarding() -> None:
    cluster, facts = one_way_set_up()
    to_backup = dataclasses.replace(cluster, active="backup")
    plan = server_plan(to_backup, facts)  # type: ignore[arg-type]
    assert [(s.kind, s.server) for s in plan.steps] == [
        (StepKind.WRITE_FILE, "backup"),
        (StepKind.WRITE_FILE, "backup"),
        (StepKind.WRITE_FILE, "main"),
        (StepKind.RESTART, "main"),
        (StepKind.RESTART, "backup"),
    ], [s.summary() for s in plan.steps]
    listed = spoolers.parse(written(plan, "backup", "spoolers.json")).servers
    assert [(s.name, s.address, s.type) for s in listed] == [
        ("backup", "127.168.1.108", "master"),
        ("main", "127.168.1.105", "spooler"),
    ]
    addresses = replicate.parse(written(plan, "backup", "replicate.conf")).addresses
    assert [str(a) for a in addresses] == ["127.17.59.129", "127.17.59.128"]
    only_main = spoolers.parse(written(plan, "main", "spoolers.json")).servers
    assert [(s.address, s.type) for s in only_main] == [("127.168.1.105", "master")]
    assert "no longer reaches backup, the active server" in plan.steps[2].reason
    # a second plan after the apply is empty; switching back restores main as the master
    after = apply_in_memory(plan, facts)  # type: ignore[arg-type]
    assert server_plan(to_backup, after).steps == ()
    back = server_plan(cluster, after)
    listed = spoolers.parse(written(back, "main", "spoolers.json")).servers
    assert [(s.name, s.type) for s in listed] == [("main", "master"), ("backup", "spooler")]
    assert [(s.address, s.type) for s in spoolers.parse(written(back, "backup",
            "spoolers.json")).servers] == [("127.168.1.108", "master")]  # fmt: skip


def test_a_server_not_reached_gets_no_step() -> None:
    cluster, facts = one_way_set_up()
    reached = {"backup": facts["backup"]}
    plan = server_plan(dataclasses.replace(cluster, active="backup"), reached)  # type: ignore[arg-type]
    assert {s.server for s in plan.steps} == {"backup"}


def test_combined_changes_nothing_on_the_servers() -> None:
    cluster, facts, _ = load_case("combined_done")
    plan = server_plan(dataclasses.replace(cluster, active="backup"), facts)
    assert plan.steps == ()
    assert [n.server for n in plan.unchanged] == ["backup", "main"]
    assert "either can be the active one" in plan.unchanged[0].reason


def test_the_plan_says_what_changes_where() -> None:
    cluster, facts, _ = load_case("combined_done")
    cluster = dataclasses.replace(cluster, sync=SyncSchedule(every_minutes=15))
    plan = SwitchoverPlan(cluster, "backup", server_plan(cluster, facts), (("main", "refused"),))
    assert plan.current == "main" and plan.reached == ("backup",)
    assert plan.after.active == "backup"
    assert dataclasses.replace(plan, cluster=plan.after, to="main").after.active is None
    text = "\n".join(plan.lines())
    assert "backup becomes the active server (now: main)" in text
    assert "scheduled syncs (every 15 min, delta engine): from backup to main from now on" in text
    assert "! main cannot be reached (refused): it is left as it is" in text


def test_refusals_come_before_any_connection() -> None:
    cluster, _, _ = load_case("combined_done")
    players = Cluster("p", Architecture.ADMIN_PLAYER, (
        Server("a", "127.0.0.1", role=Role.ADMIN), Server("b", "127.0.0.2", role=Role.PLAYER),
    ))  # fmt: skip
    for target, to, words in (
        (cluster, "main", "main is already the active server of cluster studio; nothing to do"),
        (cluster, "player9", "'player9' is not the main or the backup server"),
        (players, "b", "has no main and backup server"),
    ):
        with pytest.raises(InputError, match=words):
            asyncio.run(plan_switchover(target, to, {}))
