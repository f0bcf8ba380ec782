"""pmc.probe_batches and pmc.background_probes: one refresh asks each server few sessions, a
fleet's sessions in flight stay under the gate's bound, and SNMP's silence never holds the
refresh (its last answer is shown, probed again behind it). The batched scripts are run by
bash here, as a server runs them over SSH."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import time

import pytest

from pmc.background_probes import UNDER_WAY, BackgroundProbes
from pmc.errors import PmcError, RemoteError
from pmc.fleet import FleetProbe, probe_fleet
from pmc.health import assess
from pmc.health_model import Aspect
from pmc.inventory import Architecture, Cluster, Role, Server
from pmc.probe_batches import BatchedRunner, Gate, batch_script, split_outcomes
from pmc.status import Check, CommandOutcome, Health, empty_status


class Bash:
    """Runs commands with bash on this machine; counts sessions and those in flight."""

    def __init__(self, *, hold: asyncio.Event | None = None) -> None:
        self.sessions: dict[str, int] = {}
        self.in_flight = 0
        self.peak = 0
        self.hold = hold

    async def run(self, server: Server, command: str, *, timeout: float) -> CommandOutcome:
        self.sessions[server.name] = self.sessions.get(server.name, 0) + 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.hold is not None:
                await self.hold.wait()
            done = await asyncio.to_thread(
                subprocess.run, ["bash", "-c", command], capture_output=True, text=True,
                timeout=timeout,
            )  # fmt: skip
            return CommandOutcome(done.returncode, done.stdout, done.stderr)
        finally:
            self.in_flight -= 1


def _cluster(name: str, count: int = 4, base: int = 10) -> Cluster:
    servers = [Server("admin", f"127.0.9.{base}", role=Role.ADMIN)] + [
        Server(f"player{i}", f"127.0.9.{base + i}", role=Role.PLAYER) for i in range(1, count)
    ]
    return Cluster(name, Architecture.ADMIN_PLAYER, tuple(servers))


def test_commands_of_one_moment_go_as_one_script_with_their_own_answers() -> None:
    bash = Bash()
    runner = BatchedRunner(bash)
    server = Server("main", "127.0.0.1")

    async def go() -> list[CommandOutcome]:
        return list(
            await asyncio.gather(
                runner.run(server, "echo one; echo err >&2; exit 3", timeout=10),
                runner.run(server, "printf 'no newline'", timeout=10),
                runner.run(server, "echo '@@pmc-fake o 0 9'; echo after", timeout=10),
            )
        )

    one, two, three = asyncio.run(go())
    assert bash.sessions == {"main": 1}
    assert one == CommandOutcome(3, "one\n", "err\n")
    assert two == CommandOutcome(0, "no newline", "")
    assert three == CommandOutcome(0, "@@pmc-fake o 0 9\nafter\n", "")


def test_a_cut_script_fails_each_command_and_an_unreachable_server_all() -> None:
    _script, token = batch_script(["true", "true"])
    cut = split_outcomes(CommandOutcome(137, f"\n{token} o 0 0\n\n{token} e\n"), token, 2)
    assert cut[0] == CommandOutcome(0, "", "")
    assert isinstance(cut[1], PmcError) and "cut short" in str(cut[1])

    class Gone:
        async def run(self, server: Server, command: str, *, timeout: float) -> CommandOutcome:
            raise RemoteError("no route to host", server=server.name)

    runner = BatchedRunner(Gone())
    server = Server("backup", "127.0.0.3")

    async def go() -> list[object]:
        return await asyncio.gather(
            runner.run(server, "true", timeout=5),
            runner.run(server, "true", timeout=5),
            return_exceptions=True,
        )

    assert [str(e) for e in asyncio.run(go())] == ["backup: no route to host"] * 2


def test_a_fleet_refresh_keeps_sessions_in_flight_under_the_bound() -> None:
    """Eight clusters of four servers (32 servers): never more than the gate's sessions at
    once, and two sessions per server in one refresh."""
    clusters = [_cluster(f"site{i}", base=10 + 5 * i) for i in range(8)]
    hold = asyncio.Event()
    bash = Bash(hold=hold)
    gate = Gate(5)

    async def go() -> None:
        probe = FleetProbe(gate, BackgroundProbes(), background_gate=Gate(3))
        refresh = asyncio.ensure_future(probe_fleet(clusters, lambda c: bash, probe))
        while gate.in_flight < 5:  # the first five wait at the gate's bound
            await asyncio.sleep(0.01)
        for _ in range(20):
            await asyncio.sleep(0)
        assert gate.in_flight == 5 and bash.in_flight <= 5 + 3
        hold.set()
        await asyncio.wait_for(refresh, 120)
        await asyncio.wait_for(probe.background.settle(), 120)

    asyncio.run(go())
    assert gate.peak == 5 and bash.peak <= 5 + 3
    # every server: one script (the SSH check with the rest), one SNMP script behind the
    # refresh (the admin asks its players' agents, each player informs the admin); the
    # server names repeat in each of the 8 sites
    assert all(count == 2 * 8 for count in bash.sessions.values()), bash.sessions


def test_snmp_silence_never_holds_the_refresh() -> None:
    """The UDP probe is under way behind the refresh: the first refresh says so at once,
    the next one shows its answer with the time it was made."""
    cluster = _cluster("site", count=2)
    started: list[str] = []
    release = asyncio.Event()

    async def go() -> tuple[Check, Check, int]:
        background = BackgroundProbes()

        async def slow_probe() -> Check:
            started.append("udp")
            await release.wait()
            return Check(Health.UP, "UDP 161 open, 162 not refused (unverified)", 1.0)

        first = background.check("site/udp", slow_probe)
        again = background.check("site/udp", slow_probe)  # one under way per link
        assert again is UNDER_WAY
        release.set()
        await asyncio.wait_for(background.settle(), 10)
        later = background.check("site/udp", slow_probe)
        under_way = background.under_way
        background.close()
        return first, later, under_way

    first, later, under_way = asyncio.run(go())
    assert first is UNDER_WAY
    assert later.health is Health.UP and later.checked == 1.0
    assert started == ["udp"] and under_way == 1  # the next one is on its way
    assert cluster.servers  # the cluster is only named here


def test_a_refresh_returns_before_a_silent_udp_port_times_out() -> None:
    """A whole cluster refresh against ports that never answer (UDP 161 and 162 of addresses
    nobody listens on): the refresh is back well before the probes' 3 s timeout, the UDP
    link not checked yet; the background answer then says what it found."""
    cluster = _cluster("quiet", count=2, base=200)
    bash = Bash()

    async def go() -> tuple[float, Check, Check]:
        background = BackgroundProbes()
        probe = FleetProbe(Gate(), background)
        began = time.monotonic()
        statuses = await probe_fleet([cluster], lambda c: bash, probe)
        took = time.monotonic() - began
        udp = statuses["quiet"].links["udp:admin:player1"]
        await asyncio.wait_for(background.settle(), 60)
        return took, udp, background.known["quiet/udp:admin:player1"]

    took, udp, answer = asyncio.run(go())
    assert udp.summary.startswith("not checked yet")
    assert took < 2.9, f"the refresh waited for SNMP ({took:.1f} s)"
    assert answer.health is Health.DOWN and "161" in answer.summary  # nothing answers here


@pytest.mark.parametrize("count", [1, 3])
def test_a_gate_counts_its_sessions(count: int) -> None:
    gate = Gate(2)
    bash = Bash()

    async def go() -> None:
        server = Server("main", "127.0.0.1")
        await asyncio.gather(*(gate.run(bash, server, "true", 5) for _ in range(count)))

    asyncio.run(go())
    assert gate.sessions == count and gate.peak == min(count, 2)


def test_an_snmp_answer_from_an_earlier_refresh_shows_its_age() -> None:
    """The UDP cell shows the last answer with its age once it is older than the refresh;
    a TCP check made earlier in the same (slow) refresh shows none."""
    cluster = Cluster(
        "site",
        Architecture.COMBINED,
        (
            Server("main", "127.0.9.1", role=Role.MAIN),
            Server("backup", "127.0.9.2", role=Role.BACKUP),
        ),
    )
    ended = 1_000_000.0
    status = empty_status(cluster)
    links = dict(status.links)
    links["udp:main:backup"] = Check(
        Health.UP, "UDP 161 open, 162 not refused (unverified)", ended - 40
    )
    links["tcp:main:backup"] = Check(Health.UP, "TCP 22, 2001, 5555 open", ended - 3)
    health = assess(cluster, dataclasses.replace(status, links=links, checked=ended))
    backup = health.servers["backup"].findings
    assert backup[Aspect.UDP].text == "open, 162 unverified (40 s ago)"
    assert backup[Aspect.TCP].text == "open"


def test_a_batch_whose_callers_are_all_cancelled_is_stopped() -> None:
    """A refresh cancelled while its batch runs takes the script with it (before, the script
    ran on to its end and could still connect behind the operator's Connect); a batch that
    one caller still waits for runs on."""

    async def main() -> None:
        hold = asyncio.Event()
        runner = BatchedRunner(Bash(hold=hold))
        inner = runner.inner
        assert isinstance(inner, Bash)
        server = Server("main", "127.0.9.1")
        asking = [
            asyncio.ensure_future(runner.run(server, f"echo {i}", timeout=30)) for i in (1, 2)
        ]
        async with asyncio.timeout(30):
            while inner.in_flight != 1:
                await asyncio.sleep(0)
        for each in asking:
            each.cancel()
        await asyncio.gather(*asking, return_exceptions=True)
        async with asyncio.timeout(30):
            while inner.in_flight:
                await asyncio.sleep(0)

        kept = asyncio.ensure_future(runner.run(server, "echo kept", timeout=30))
        dropped = asyncio.ensure_future(runner.run(server, "echo dropped", timeout=30))
        async with asyncio.timeout(30):
            while inner.in_flight != 1:
                await asyncio.sleep(0)
        dropped.cancel()
        hold.set()
        async with asyncio.timeout(30):
            outcome = await kept
        assert outcome.stdout == "kept\n"

    asyncio.run(main())


def test_a_garbled_marker_line_is_a_missing_answer_not_a_crash() -> None:
    """The index or status on a marker line is a digit int() cannot read (², ①) or thousands
    of digits: that command's answer is missing; before, ValueError ended the refresh."""
    _script, token = batch_script(["true", "true", "true"])
    text = (
        f"\n{token} o ² 0\nout\n{token} e\n"
        f"\n{token} o {'1' * 5000} 0\nout\n{token} e\n"
        f"\n{token} o 1 ①\nout\n{token} e\n"
        f"\n{token} o 2 {'7' * 5000}\nout\n{token} e\n"
    )
    got = split_outcomes(CommandOutcome(0, text), token, 3)
    assert isinstance(got[0], PmcError)
    assert got[1:] == [CommandOutcome(255, "out", ""), CommandOutcome(255, "out", "")]
