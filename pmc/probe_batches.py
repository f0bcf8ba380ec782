"""One refresh, few SSH sessions: the probe commands asked of one server at the same moment
go to it as ONE script (:class:`BatchedRunner`), run there side by side, and each caller gets
its own :class:`~pmc.status.CommandOutcome` back. A gate shared by every cluster of a refresh
(:class:`Gate`) bounds the scripts in flight, so that a fleet of servers is probed
concurrently without opening every connection at once.

The probes (:mod:`pmc.probes`) do not know about it: a ``BatchedRunner`` is a
:class:`~pmc.status.CommandRunner` like any other.
"""

from __future__ import annotations

import asyncio
import secrets
import shlex
from dataclasses import dataclass, field

from pmc.errors import PmcError
from pmc.inventory import Server
from pmc.status import CommandOutcome, CommandRunner

DEFAULT_IN_FLIGHT = 12  # scripts (SSH sessions) in flight at once across a whole refresh
_GATHER_TURNS = 8  # loop turns a batch waits for more commands of the same moment


class Gate:
    """At most ``limit`` commands in flight at once; ``peak`` is the most seen (for tests and
    the bench)."""

    def __init__(self, limit: int = DEFAULT_IN_FLIGHT) -> None:
        self.limit = limit
        self.in_flight = 0
        self.peak = 0
        self.sessions = 0  # commands started through the gate, in all
        self._semaphore = asyncio.Semaphore(limit)

    async def run(
        self, inner: CommandRunner, server: Server, command: str, timeout: float
    ) -> CommandOutcome:
        async with self._semaphore:
            self.in_flight += 1
            self.sessions += 1
            self.peak = max(self.peak, self.in_flight)
            try:
                return await inner.run(server, command, timeout=timeout)
            finally:
                self.in_flight -= 1


@dataclass
class _Batch:
    server: Server
    items: list[tuple[str, float, asyncio.Future[CommandOutcome]]] = field(default_factory=list)
    sending: asyncio.Task[None] | None = None  # set once the batch is closed and under way


class BatchedRunner:
    """A :class:`~pmc.status.CommandRunner` that runs the commands asked of a server in the
    same moment (the same few turns of the event loop) as one script over ``inner``."""

    def __init__(self, inner: CommandRunner, gate: Gate | None = None) -> None:
        self.inner = inner
        self.gate = gate or Gate()
        self._open: dict[tuple[str, str, int], _Batch] = {}
        self._sending: set[asyncio.Task[None]] = set()

    async def run(self, server: Server, command: str, *, timeout: float) -> CommandOutcome:
        key = (server.name, server.management_address, server.ssh_port)
        batch = self._open.get(key)
        if batch is None:
            batch = self._open[key] = _Batch(server)
            task = asyncio.ensure_future(self._send(key, batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        future: asyncio.Future[CommandOutcome] = asyncio.get_running_loop().create_future()
        batch.items.append((command, timeout, future))
        try:
            return await future
        except asyncio.CancelledError:
            # every caller gone (the refresh cancelled): the script goes with them, never
            # runs on to connect behind the operator's back
            sending = batch.sending
            if sending is not None and all(f.done() for _c, _t, f in batch.items):
                sending.cancel()
            raise

    async def _send(self, key: tuple[str, str, int], batch: _Batch) -> None:
        seen = -1
        for _turn in range(_GATHER_TURNS):  # until a turn brings no new command
            if len(batch.items) == seen:
                break
            seen = len(batch.items)
            await asyncio.sleep(0)
        del self._open[key]
        batch.sending = asyncio.current_task()
        items = [item for item in batch.items if not item[2].cancelled()]
        if not items:
            return
        if len(items) == 1:
            command, timeout, future = items[0]
            await self._deliver(batch.server, command, timeout, [future], single=True)
            return
        script, token = batch_script([command for command, _t, _f in items])
        timeout = max(t for _c, t, _f in items)
        await self._deliver(batch.server, script, timeout, [f for _c, _t, f in items], token=token)

    async def _deliver(
        self,
        server: Server,
        command: str,
        timeout: float,
        futures: list[asyncio.Future[CommandOutcome]],
        *,
        single: bool = False,
        token: str = "",
    ) -> None:
        try:
            outcome = await self.gate.run(self.inner, server, command, timeout)
        except (PmcError, OSError) as exc:
            for future in futures:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException as exc:  # cancelled: the callers are told, then it goes on
            for future in futures:
                if not future.done():
                    future.cancel()
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        outcomes = [outcome] if single else split_outcomes(outcome, token, len(futures))
        for future, one in zip(futures, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(one, PmcError):
                future.set_exception(one)
            else:
                future.set_result(one)


def batch_script(commands: list[str]) -> tuple[str, str]:
    """A shell script running ``commands`` side by side, then printing each one's exit
    status, output and errors between marker lines (a token no output can guess)."""
    token = f"@@pmc-{secrets.token_hex(8)}"
    starts = " ".join(
        f'{{ ( {command}\n) >"$d/{i}o" 2>"$d/{i}e" </dev/null; echo $? >"$d/{i}s"; }} &'
        for i, command in enumerate(commands)
    )
    prints = " ".join(
        f'printf \'\\n%s o {i} %s\\n\' {shlex.quote(token)} "$(cat "$d/{i}s" 2>/dev/null)"; '
        f'cat "$d/{i}o"; printf \'\\n%s e\\n\' {shlex.quote(token)}; cat "$d/{i}e";'
        for i in range(len(commands))
    )
    body = (
        "d=$(mktemp -d /tmp/pmc-probe.XXXXXX) || exit 97; trap 'rm -rf \"$d\"' EXIT; "
        f"{starts} wait; {prints}"
    )
    return "sh -c " + shlex.quote(body), token


def _small_number(text: str) -> bool:
    """Whether int() reads ``text`` as a number of a few digits (``str.isdigit`` takes ² too)."""
    return text.isascii() and text.isdigit() and len(text) <= 9


def split_outcomes(
    outcome: CommandOutcome, token: str, count: int
) -> list[CommandOutcome | PmcError]:
    """Each command's outcome from a :func:`batch_script`'s output (an error for one whose
    part is missing: the script was cut)."""
    found: dict[int, CommandOutcome] = {}
    for part in outcome.stdout.split(f"\n{token} o ")[1:]:
        head, _, rest = part.partition("\n")
        words = head.split()
        if not words or not _small_number(words[0]):
            continue
        status = int(words[1]) if len(words) > 1 and _small_number(words[1]) else 255
        out, _, err = rest.partition(f"\n{token} e\n")
        found[int(words[0])] = CommandOutcome(status, out, err)
    missing = PmcError(
        "a probe's answer was cut short"
        + (f": {outcome.stderr.strip()[-200:]}" if outcome.stderr.strip() else ""),
        hint="Refresh again; if it stays so, see the server's load and its sshd log",
    )
    return [found.get(i, missing) for i in range(count)]
