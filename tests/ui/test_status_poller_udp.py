"""The single cluster's status poller probes SNMP (UDP) behind the timer's refreshes, as the
fleet does: the refresh is back while the UDP probe is still under way, its answer is shown
when it comes; a refresh asked for waits for it, drops an older probe still under way, and
its answer is the one the timer's next refresh shows meanwhile. Commands run by bash on this
machine (127.0.9.x: nobody listens)."""

from __future__ import annotations

import asyncio
import types

from pmc.background_probes import UNDER_WAY
from pmc.inventory import Architecture, Cluster, Role, Server
from pmc.status import CommandOutcome, Health
from tests.test_probe_batches import Bash
from ui.status_poller import StatusPoller
from ui.tasks import Tasks

UDP = "udp:admin:player1"
CLUSTER = Cluster(
    "quiet",
    Architecture.ADMIN_PLAYER,
    (
        Server("admin", "127.0.9.210", role=Role.ADMIN),
        Server("player1", "127.0.9.211", role=Role.PLAYER),
    ),
)


class UdpHeld(Bash):
    """Bash, but a UDP probe waits until the :attr:`release` of its start is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def run(self, server: Server, command: str, *, timeout: float) -> CommandOutcome:
        if "/dev/udp/" in command:
            release = self.release
            await release.wait()
        return await super().run(server, command, timeout=timeout)


def test_snmp_behind_the_timers_refresh_and_within_one_asked_for(qtbot, loop) -> None:
    runner = UdpHeld()
    session = types.SimpleNamespace(pool=object(), tasks=Tasks(), runner_for=lambda c: runner)
    poller = StatusPoller(session)  # type: ignore[arg-type]
    poller.watch(CLUSTER, start=False)
    try:
        task = poller.refresh(udp_behind=True)
        assert task is not None
        qtbot.waitUntil(task.done, timeout=60000)
        assert task.exception() is None
        assert poller.last is not None and poller.last.links[UDP] is UNDER_WAY
        assert poller.background.under_way == 1

        runner.release.set()  # the answer comes after the refresh, and is shown
        qtbot.waitUntil(lambda: poller.last.links[UDP].health is Health.DOWN, timeout=60000)
        behind = poller.last.links[UDP]

        held = runner.release = asyncio.Event()  # the timer's next probe is held
        task = poller.refresh(udp_behind=True)
        qtbot.waitUntil(task.done, timeout=60000)
        assert poller.last.links[UDP] == behind and poller.background.under_way == 1

        runner.release = asyncio.Event()
        runner.release.set()
        task = poller.refresh()  # asked for: waits for SNMP, drops the held probe
        qtbot.waitUntil(task.done, timeout=60000)
        asked = poller.last.links[UDP]
        assert asked.health is Health.DOWN and asked != behind
        assert poller.background.under_way == 0
        held.set()

        runner.release = asyncio.Event()  # the timer's next refresh shows that answer
        task = poller.refresh(udp_behind=True)
        qtbot.waitUntil(task.done, timeout=60000)
        assert poller.last.links[UDP] == asked
        assert poller.background.under_way == 1
    finally:
        runner.release.set()
        poller.stop()


def test_the_timer_s_refreshes_probe_snmp_behind(qtbot, loop) -> None:
    """The refreshes the timer starts do not wait for SNMP: with the UDP probe held, the
    timer's refresh still ends and shows the earlier answer while the probe stays under way."""
    runner = UdpHeld()
    runner.release.set()
    session = types.SimpleNamespace(pool=object(), tasks=Tasks(), runner_for=lambda c: runner)
    poller = StatusPoller(session)  # type: ignore[arg-type]
    poller.set_interval(2)
    try:
        poller.watch(CLUSTER)  # the first refresh is asked for: it waits for SNMP
        qtbot.waitUntil(lambda: poller.last.links[UDP].health is Health.DOWN, timeout=60000)
        qtbot.waitUntil(lambda: not poller.busy, timeout=60000)
        first = poller.last.links[UDP]

        runner.release = asyncio.Event()  # from now on SNMP never answers
        qtbot.waitUntil(lambda: poller.background.under_way == 1, timeout=60000)
        qtbot.waitUntil(lambda: not poller.busy, timeout=60000)
        assert poller.polling
        assert poller.last.links[UDP] == first  # the refresh ended and kept the last answer
    finally:
        runner.release.set()
        poller.stop()
