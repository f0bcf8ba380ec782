"""``pmc sync``: synchronise a cluster's backup with its main, show drift, history, daemon.

- ``pmc sync run --cluster NAME [--engine playout|delta] [--dry-run] [--yes]``
- ``pmc sync diff --cluster NAME`` (exit 0 in sync, 1 when something differs)
- ``pmc sync history [--limit N] [--job ID]``
- ``pmc sync daemon [--cluster NAME …] [--every MINUTES] [--on-drift]``
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from pmc.errors import InputError
from pmc.inventory import Cluster, Inventory
from pmc.jobs import EventKind, JobEvent
from pmc.remote.host_keys import AskOnTerminal, RefuseUnknown, TrustDecision, TrustFingerprints
from pmc.remote.pool import ConnectionPool
from pmc.store import Store
from pmc.sync.copy_config import Remediation
from pmc.sync.drift import DriftReport
from pmc.sync.runner import Engine, Schedule, SyncRequest, SyncRunner, finished

T = TypeVar("T")

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 130


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("sync", help="keep a cluster's backup in sync with its main")
    cmds = parser.add_subparsers(dest="sync_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser, *, cluster_required: bool = True) -> None:
        if cluster_required:
            p.add_argument("--cluster", required=True, metavar="NAME")
        p.add_argument(
            "--trust-fingerprint",
            action="append",
            default=[],
            metavar="SHA256:…",
            help="trust a server's new host key with this fingerprint (repeatable)",
        )

    run = cmds.add_parser("run", help="synchronise now")
    common(run)
    run.add_argument("--engine", choices=[e.value for e in Engine], default=Engine.DELTA.value)
    run.add_argument(
        "--dry-run", action="store_true", help="list what would change, change nothing"
    )
    run.add_argument("--yes", action="store_true", help="confirm proposed fixes without asking")
    run.add_argument(
        "--include-ts-outputs",
        action="store_true",
        help="also copy TS outputs (the seed configures them on each server separately)",
    )
    run.add_argument("--from", dest="primary", metavar="SERVER", help="copy from this server")
    run.set_defaults(handler=_run)

    diff = cmds.add_parser("diff", help="show what differs between main and backup (read only)")
    common(diff)
    diff.add_argument("--no-config", action="store_true", help="leave out the config files")
    diff.add_argument("--include-ts-outputs", action="store_true")
    diff.add_argument("--limit", type=int, default=20, help="rows or files listed per kind")
    diff.set_defaults(handler=_diff)

    history = cmds.add_parser("history", help="past syncs")
    history.add_argument("--limit", type=int, default=20)
    history.add_argument("--job", metavar="ID", help="show the log of one sync")
    history.set_defaults(handler=_history)

    daemon = cmds.add_parser("daemon", help="run the sync runner without the desktop app")
    common(daemon, cluster_required=False)
    daemon.add_argument(
        "--cluster",
        action="append",
        default=[],
        metavar="NAME",
        help="cluster to keep in sync (repeatable; default: every 1+1 cluster)",
    )
    daemon.add_argument("--every", type=float, metavar="MINUTES", help="sync this often")
    daemon.add_argument("--on-drift", action="store_true", help="sync when drift is found")
    daemon.add_argument("--check-every", type=float, default=5.0, metavar="MINUTES")
    daemon.add_argument("--engine", choices=[e.value for e in Engine], default=Engine.DELTA.value)
    daemon.set_defaults(handler=_daemon)


# ---- shared ---------------------------------------------------------------------------------
def _inventory(args: argparse.Namespace) -> Inventory:
    from pmc.inventory_file import load_inventory  # noqa: PLC0415
    from pmc.paths import default_inventory_path  # noqa: PLC0415

    path = Path(args.inventory) if getattr(args, "inventory", None) else default_inventory_path()
    loaded = load_inventory(path)
    if loaded.problems:
        raise InputError(
            f"the inventory has {len(loaded.problems)} problem(s); first: {loaded.problems[0]}",
            where=str(path),
            hint=f"Run: pmc inventory validate {path}",
        )
    return loaded.inventory


def _trust(args: argparse.Namespace) -> TrustDecision:
    if args.trust_fingerprint:
        return TrustFingerprints(args.trust_fingerprint)
    return AskOnTerminal() if sys.stdin.isatty() else RefuseUnknown()


def _cluster_source(inventory: Inventory) -> Callable[[str], Cluster]:
    def find(name: str) -> Cluster:
        try:
            return inventory.cluster(name)
        except KeyError:
            known = ", ".join(c.name for c in inventory.clusters) or "none"
            raise InputError(
                f"there is no cluster {name!r} in the inventory",
                hint=f"Known clusters: {known}. See: pmc inventory list",
            ) from None

    return find


def print_event(event: JobEvent) -> None:
    """The CLI's rendering of a sync job's events."""
    where = f"[{event.server}] " if event.server else ""
    if event.kind is EventKind.LOG:
        stream = sys.stderr if event.level in ("warning", "error") else sys.stdout
        print(f"  {where}{event.message}", file=stream, flush=True)
    elif event.kind is EventKind.STEP_STARTED:
        print(f"» {where}{event.message}", flush=True)
    elif event.kind is EventKind.STEP_FAILED:
        print(f"✗ {where}{event.message}", file=sys.stderr, flush=True)
    elif event.kind is EventKind.PROGRESS and event.message:
        fraction = event.fraction
        share = f"{fraction * 100:3.0f}% " if fraction is not None else ""
        print(f"  {share}{event.message}", flush=True)


def _confirm_on_terminal(yes: bool) -> Callable[[Remediation], Awaitable[bool]]:
    async def confirm(fix: Remediation) -> bool:
        for line in fix.lines():
            print(line, file=sys.stderr)
        if yes:
            print("Applying the fix (--yes).", file=sys.stderr)
            return True
        if not sys.stdin.isatty():
            print("Not applied: no terminal to ask (use --yes).", file=sys.stderr)
            return False
        answer = await asyncio.to_thread(input, "Apply this fix and try again? [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    return confirm


def make_pool(args: argparse.Namespace) -> ConnectionPool:
    """PMC's known hosts, keyring credentials, and the terminal's trust decision."""
    return ConnectionPool(trust=_trust(args))


async def _with_pool(args: argparse.Namespace, work: Callable[[ConnectionPool], Awaitable[T]]) -> T:
    pool = make_pool(args)
    try:
        return await work(pool)
    finally:
        await pool.close()


# ---- actions ------------------------------------------------------------------------------
def _run(args: argparse.Namespace) -> int:
    inventory = _inventory(args)
    _cluster_source(inventory)(args.cluster)
    request = SyncRequest(
        args.cluster,
        Engine(args.engine),
        dry_run=args.dry_run,
        include_ts_outputs=args.include_ts_outputs,
        primary=args.primary,
    )
    store = Store.open()

    async def work(pool: ConnectionPool) -> int:
        runner = SyncRunner(
            _cluster_source(inventory), pool, store=store, confirm=_confirm_on_terminal(args.yes)
        )
        job = runner.submit(request)
        job.subscribe(print_event, replay=True)
        loop = asyncio.get_running_loop()
        with _signals(loop, job.cancel):
            state = await finished(job)
        await runner.close()
        if job.result is not None:
            print(str(job.result))
        if state.value == "succeeded":
            return EXIT_OK
        if state.value == "cancelled":
            print("pmc: sync cancelled; the secondary was left as it was", file=sys.stderr)
            return EXIT_CANCELLED
        print(f"pmc: {job.error}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(job.error, InputError) else EXIT_FAILED

    try:
        return asyncio.run(_with_pool(args, work))
    finally:
        store.close()


def _diff(args: argparse.Namespace) -> int:
    inventory = _inventory(args)

    async def work(pool: ConnectionPool) -> DriftReport:
        runner = SyncRunner(_cluster_source(inventory), pool)
        report = await runner.drift(args.cluster, config=not args.no_config)
        await runner.close()
        return report

    report = asyncio.run(_with_pool(args, work))
    print("\n".join(report.lines(limit=args.limit)))
    print(f"({report.seconds:.2f} s)")
    return EXIT_OK if report.in_sync else EXIT_FAILED


def _history(args: argparse.Namespace) -> int:
    store = Store.open()
    try:
        if args.job:
            for rec in store.job_log_of(args.job):
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rec.time))
                server = f"[{rec.server}] " if rec.server else ""
                print(f"{when} {rec.level:7} {server}{rec.message}")
            return EXIT_OK
        for job in store.jobs(limit=args.limit, kind="sync"):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job.started))
            took = f"{job.duration:.1f} s" if job.duration is not None else "running"
            print(f"{job.id}  {when}  {job.cluster or '-':12} {job.state:10} {took:>9}  "
                  f"{job.title}: {job.summary}")  # fmt: skip
    finally:
        store.close()
    return EXIT_OK


def _daemon(args: argparse.Namespace) -> int:
    inventory = _inventory(args)
    names = args.cluster or [
        c.name for c in inventory.clusters if c.main is not None and c.backup is not None
    ]
    for name in names:
        _cluster_source(inventory)(name)
    if not names:
        raise InputError("no 1+1 cluster to keep in sync", hint="Give --cluster NAME.")
    if args.every is None and not args.on_drift:
        raise InputError("give --every MINUTES, --on-drift, or both")
    store = Store.open()

    async def work(pool: ConnectionPool) -> int:
        runner = SyncRunner(_cluster_source(inventory), pool, store=store)

        def announce(job: object, request: SyncRequest) -> None:
            print(f"sync of {request.cluster} queued ({request.reason})", flush=True)
            job.subscribe(_daemon_event)  # type: ignore[attr-defined]

        runner.on_job(announce)
        for name in names:
            runner.set_schedule(
                Schedule(name, args.every, args.on_drift, args.check_every, Engine(args.engine))
            )
        stop = asyncio.Event()
        with _signals(asyncio.get_running_loop(), stop.set):
            print(f"pmc sync daemon: watching {', '.join(names)}; stop with Ctrl+C", flush=True)
            await stop.wait()
        print("pmc sync daemon: stopping (running syncs stop at their next safe point)")
        await runner.close()
        return EXIT_OK

    try:
        return asyncio.run(_with_pool(args, work))
    finally:
        store.close()


def _daemon_event(event: JobEvent) -> None:
    if event.kind in (EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED):
        print(f"sync {event.job_id} {event.kind.value}: {event.message}", flush=True)


class _signals:
    """SIGINT/SIGTERM call ``action`` (cancel or stop) instead of killing the process."""

    def __init__(self, loop: asyncio.AbstractEventLoop, action: Callable[[], None]) -> None:
        self.loop = loop
        self.action = action
        self.installed: list[int] = []

    def __enter__(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.loop.add_signal_handler(sig, self.action)
                self.installed.append(sig)
            except (NotImplementedError, RuntimeError):  # Windows
                pass

    def __exit__(self, *exc: object) -> None:
        for sig in self.installed:
            self.loop.remove_signal_handler(sig)
