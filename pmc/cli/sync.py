"""``pmc sync``: synchronize a cluster's servers, show drift, history, daemon.

- ``pmc sync run --cluster NAME [--engine playout|delta] [--from SERVER]
  [--discard-target-changes] [--dry-run] [--yes]``: from the cluster's active server unless
  ``--from`` says otherwise; refused when the target holds changes made since the last sync
  (:mod:`pmc.sync.newer_changes`), unless ``--discard-target-changes``
- ``pmc sync diff --cluster NAME`` (exit 0 in sync, 1 when something differs)
- ``pmc sync history [--limit N] [--cluster NAME] [--json] [--job ID]``
- ``pmc sync schedule [--cluster NAME] [--every MINUTES | --no-every] [--on-drift | --no-on-drift]
  [--check-every MINUTES] [--engine delta|playout] [--include-ts-outputs] | --off``
- ``pmc sync daemon [--cluster NAME …] [--every MINUTES] [--on-drift]``: the inventory's
  schedules (``[clusters.sync]``), re-read when the file changes; flags override them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pmc.cli.common import ExitCode, confirm, follow, on_signals, run, workspace_of
from pmc.cli.connect import add_connection_options
from pmc.errors import Cancelled, InputError, PmcError
from pmc.inventory import Inventory, SyncSchedule
from pmc.jobs import EventKind, Job, JobEvent
from pmc.problems import InventoryProblems
from pmc.store import Store
from pmc.sync.copy_config import Remediation
from pmc.sync.drift import DriftReport
from pmc.sync.history import history as sync_history
from pmc.sync.history import table as history_table
from pmc.sync.newer_changes import NewerChanges
from pmc.sync.runner import Engine, Schedule, SyncRequest, SyncRunner
from pmc.validation import validate
from pmc.workspace import Workspace


def register(parser: argparse.ArgumentParser) -> None:
    cmds = parser.add_subparsers(dest="sync_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser, *, cluster_required: bool = True) -> None:
        if cluster_required:
            p.add_argument("--cluster", required=True, metavar="NAME")
        add_connection_options(p)

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
        help="also copy TS outputs (the vendor's manual configures them on each server separately)",
    )
    run.add_argument("--from", dest="primary", metavar="SERVER",
                     help="copy from this server (default: the active server)")  # fmt: skip
    run.add_argument("--discard-target-changes", action="store_true",
                     help="overwrite what the target changed since the last sync")  # fmt: skip
    run.set_defaults(handler=_run)

    diff = cmds.add_parser("diff", help="show what differs between main and backup (read only)")
    common(diff)
    diff.add_argument("--no-config", action="store_true", help="leave out the config files")
    diff.add_argument("--include-ts-outputs", action="store_true")
    diff.add_argument("--limit", type=int, default=20, help="rows or files listed per kind")
    diff.set_defaults(handler=_diff)

    history = cmds.add_parser("history", help="past syncs, newest first")
    history.add_argument("--limit", type=int, default=20)
    history.add_argument("--cluster", metavar="NAME", help="only this cluster's syncs")
    history.add_argument("--json", action="store_true", help="JSON for scripts")
    history.add_argument("--job", metavar="ID", help="show the log of one sync")
    history.set_defaults(handler=_history)

    schedule = cmds.add_parser(
        "schedule",
        help="show or set a cluster's sync schedule (kept in the inventory)",
        description="Without options: show the schedules. The schedule is the cluster's"
        " [clusters.sync] table in the inventory; `pmc sync daemon` (and the desktop app)"
        " follow it.",
    )
    schedule.add_argument("--cluster", metavar="NAME")
    every = schedule.add_mutually_exclusive_group()
    every.add_argument("--every", type=float, metavar="MINUTES", help="sync this often")
    every.add_argument("--no-every", action="store_true", help="no periodic sync")
    schedule.add_argument(
        "--on-drift",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="sync when a drift check finds a difference",
    )
    schedule.add_argument(
        "--check-every", type=float, metavar="MINUTES", help="drift check interval"
    )
    schedule.add_argument("--engine", choices=[e.value for e in Engine])
    schedule.add_argument(
        "--include-ts-outputs", action=argparse.BooleanOptionalAction, default=None
    )
    schedule.add_argument("--off", action="store_true", help="remove the cluster's schedule")
    schedule.set_defaults(handler=_schedule)

    daemon = cmds.add_parser(
        "daemon",
        help="run the sync runner without the desktop app",
        description="Follows the schedules of the inventory ([clusters.sync], see `pmc sync"
        " schedule`) and re-reads the file when it changes. --every/--on-drift/--check-every/"
        "--engine override the inventory for the clusters watched.",
    )
    common(daemon, cluster_required=False)
    daemon.add_argument(
        "--cluster",
        action="append",
        default=[],
        metavar="NAME",
        help="cluster to keep in sync (repeatable; default: every cluster with a schedule, or"
        " with --every/--on-drift every 1+1 cluster)",
    )
    daemon.add_argument("--every", type=float, metavar="MINUTES", help="sync this often")
    daemon.add_argument(
        "--on-drift", action="store_true", default=None, help="sync when drift is found"
    )
    daemon.add_argument("--check-every", type=float, metavar="MINUTES")
    daemon.add_argument("--engine", choices=[e.value for e in Engine])
    daemon.add_argument(
        "--reload-seconds",
        type=float,
        default=2.0,
        help=argparse.SUPPRESS,  # how often the inventory's modification time is looked at
    )
    daemon.set_defaults(handler=_daemon)


# ---- shared ---------------------------------------------------------------------------------
def _load(workspace: Workspace) -> Inventory:
    """The inventory (the workspace's policy), its sync schedules checked first: a schedule
    the runner cannot follow is refused (InventoryProblems, one line, every problem named),
    and the workspace keeps what it had read before."""
    loaded = workspace.read()
    if not loaded.problems:
        problems = [
            p for p in validate(loaded, allow_incomplete=True) if "sync schedule" in p.message
        ]
        if problems:
            raise InventoryProblems(str(workspace.path), problems)
    return workspace.load()


def _confirm_fix(yes: bool) -> Callable[[Remediation], Awaitable[bool]]:
    """How a proposed fix of copy config is confirmed: ``--yes``, or asked on the terminal;
    without a terminal it is not applied (the sync reports the failure it would fix)."""

    async def confirmed(fix: Remediation) -> bool:
        for line in fix.lines():
            print(line, file=sys.stderr)
        try:
            agreed = await asyncio.to_thread(
                confirm,
                "Apply this fix and try again? [y/N] ",
                yes=yes,
                refusal="not applied: no terminal to ask",
            )
        except InputError as exc:
            print(f"{str(exc)[:1].upper()}{str(exc)[1:]}", file=sys.stderr)
            return False
        if yes:
            print("Applying the fix (--yes).", file=sys.stderr)
        return agreed

    return confirmed


# ---- actions ------------------------------------------------------------------------------
def _run(args: argparse.Namespace) -> int:
    workspace = workspace_of(args)
    _load(workspace)
    workspace.cluster(args.cluster)
    request = SyncRequest(
        args.cluster,
        Engine(args.engine),
        dry_run=args.dry_run,
        include_ts_outputs=args.include_ts_outputs,
        primary=args.primary,
        discard_target_changes=args.discard_target_changes,
    )

    async def sync() -> object:
        runner = SyncRunner(
            workspace.cluster, workspace.pool, store=workspace.store,
            confirm=_confirm_fix(args.yes),
        )  # fmt: skip
        try:
            return await follow(runner.submit(request))
        finally:
            await runner.close()

    try:
        result = run(workspace, sync())
    except Cancelled as exc:
        raise Cancelled(f"{exc}; the target was left as it was") from exc
    except NewerChanges as exc:
        raise exc.in_commands(args.cluster) from None
    print(str(result))
    return ExitCode.OK


def _diff(args: argparse.Namespace) -> int:
    workspace = workspace_of(args)
    _load(workspace)

    async def work() -> DriftReport:
        runner = SyncRunner(workspace.cluster, workspace.pool)
        try:
            return await runner.drift(args.cluster, config=not args.no_config)
        finally:
            await runner.close()

    report = run(workspace, work())
    print("\n".join(report.lines(limit=args.limit)))
    print(f"({report.seconds:.2f} s)")
    return ExitCode.OK if report.in_sync else ExitCode.FAILED


def _history(args: argparse.Namespace) -> int:
    store = Store.open()
    try:
        if args.job:
            records = store.job_log_of(args.job)
            if not records:
                raise InputError(
                    f"there is no sync {args.job!r} in the history",
                    hint="The first column of `pmc sync history --json` (id) names a sync.",
                )
            if args.json:
                print(json.dumps([dataclasses.asdict(r) for r in records], indent=2))
                return ExitCode.OK
            for rec in records:
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rec.time))
                server = f"[{rec.server}] " if rec.server else ""
                print(f"{when} {rec.level:7} {server}{rec.message}")
            return ExitCode.OK
        entries = sync_history(store, limit=args.limit, cluster=args.cluster)
        if args.json:
            print(json.dumps([e.as_json() for e in entries], indent=2, ensure_ascii=False))
            return ExitCode.OK
        if not entries:
            print("No syncs yet.", file=sys.stderr)
            return ExitCode.OK
        width = os.get_terminal_size().columns if sys.stdout.isatty() else 160
        print("\n".join(history_table(entries, width=max(width, 80))))
        print("(pmc sync history --job ID shows a sync's log; ids: --json)", file=sys.stderr)
    finally:
        store.close()
    return ExitCode.OK


def _schedule(args: argparse.Namespace) -> int:
    workspace = workspace_of(args)
    path = workspace.path
    inventory = workspace.load()
    settings = (args.every, args.on_drift, args.check_every, args.engine, args.include_ts_outputs)
    editing = args.off or args.no_every or any(v is not None for v in settings)
    if not editing:
        clusters = inventory.clusters
        if args.cluster:
            clusters = (workspace.cluster(args.cluster),)
        if not clusters:
            print(f"No clusters in {path}.")
        for cluster in clusters:
            text = cluster.sync.describe() if cluster.sync else "off"
            if cluster.sync is not None and not cluster.sync.active:
                text = "off (" + text + ")"
            print(f"{cluster.name}: {text}")
        return ExitCode.OK
    if not args.cluster:
        raise InputError("give --cluster NAME: the cluster whose schedule to change")
    cluster = workspace.cluster(args.cluster)
    if args.off:
        if args.no_every or any(v is not None for v in settings):
            raise InputError("--off removes the schedule; give it without other settings")
        new = None
    else:
        new = cluster.sync or SyncSchedule()
        if args.every is not None:
            new = dataclasses.replace(new, every_minutes=args.every)
        if args.no_every:
            new = dataclasses.replace(new, every_minutes=None)
        if args.on_drift is not None:
            new = dataclasses.replace(new, on_drift=args.on_drift)
        if args.check_every is not None:
            new = dataclasses.replace(new, check_minutes=args.check_every)
        if args.engine is not None:
            new = dataclasses.replace(new, engine=Engine(args.engine))
        if args.include_ts_outputs is not None:
            new = dataclasses.replace(new, include_ts_outputs=args.include_ts_outputs)
    if new is not None and (cluster.main is None or cluster.backup is None):
        raise InputError(
            f"cluster {cluster.name!r} has no main and backup server; a sync copies the main"
            " to the backup, so it cannot have a schedule; nothing was changed",
            where=str(path),
            hint="Give its servers the roles main and backup (pmc inventory add-server --role).",
        )
    changed = dataclasses.replace(cluster, sync=new)
    if changed == cluster:
        print(f"{cluster.name}: unchanged ({new.describe() if new else 'off'})")
        return ExitCode.OK
    workspace.replace_cluster(changed)
    print(f"{cluster.name}: {new.describe() if new else 'off'} (saved in {path})")
    if new is not None and not new.active:
        print("note: neither --every nor --on-drift is set: no automatic sync", file=sys.stderr)
    return ExitCode.OK


def _daemon_schedules(args: argparse.Namespace, workspace: Workspace) -> list[Schedule]:
    """The schedules the daemon follows: the inventory's, with the command line's overrides."""
    overrides: dict[str, Any] = {
        name: value
        for name, value in (
            ("every_minutes", args.every),
            ("on_drift", args.on_drift),
            ("check_minutes", args.check_every),
            ("engine", Engine(args.engine) if args.engine else None),
        )
        if value is not None
    }
    timing = "every_minutes" in overrides or "on_drift" in overrides
    inventory = workspace.inventory
    if args.cluster:
        names = list(args.cluster)
    elif timing:
        names = [c.name for c in inventory.clusters if c.main is not None and c.backup is not None]
    else:
        names = [c.name for c in inventory.clusters if c.sync is not None and c.sync.active]
    schedules = []
    for name in names:
        cluster = workspace.cluster(name)
        base = cluster.sync or SyncSchedule()
        if timing:  # the command line's timing replaces the inventory's
            base = dataclasses.replace(base, every_minutes=None, on_drift=False)
        schedule = Schedule.of(name, dataclasses.replace(base, **overrides))
        if schedule.active:
            schedules.append(schedule)
    return schedules


def _describe(schedules: list[Schedule]) -> str:
    if not schedules:
        return "no cluster has a schedule"
    return "; ".join(
        f"{s.cluster}: "
        + SyncSchedule(
            s.every_minutes, s.on_drift, s.check_minutes, s.engine, s.include_ts_outputs
        ).describe()
        for s in schedules
    )


def _file_signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _daemon(args: argparse.Namespace) -> int:
    workspace = workspace_of(args)
    path = workspace.path
    signature = _file_signature(path)
    _load(workspace)
    schedules = _daemon_schedules(args, workspace)
    if not schedules:
        raise InputError(
            "no cluster to keep in sync: the inventory has no sync schedule"
            + (" for " + ", ".join(args.cluster) if args.cluster else ""),
            where=str(path),
            hint="Set one with `pmc sync schedule --cluster NAME --every MINUTES` (or"
            " --on-drift), or give --every MINUTES / --on-drift to the daemon.",
        )

    async def work() -> int:
        nonlocal signature
        runner = SyncRunner(workspace.cluster, workspace.pool, store=workspace.store)

        def announce(job: Job[object], request: SyncRequest) -> None:
            print(f"sync of {request.cluster} queued ({request.reason})", flush=True)
            job.subscribe(_daemon_event)

        def reload() -> None:
            nonlocal signature
            now = _file_signature(path)
            if now == signature:
                return
            signature = now
            try:
                _load(workspace)
                wanted = _daemon_schedules(args, workspace)
            except PmcError as exc:
                print(
                    f"pmc sync daemon: the inventory changed but cannot be used ({exc}); "
                    "keeping the schedules in force",
                    file=sys.stderr,
                    flush=True,
                )
                return
            changed = runner.set_schedules(wanted)
            if changed:
                print(
                    f"pmc sync daemon: inventory changed; now {_describe(runner.schedules)}",
                    flush=True,
                )

        runner.on_job(announce)
        runner.set_schedules(schedules)
        stop = asyncio.Event()
        with on_signals(stop.set):
            print(
                f"pmc sync daemon: watching {', '.join(s.cluster for s in schedules)} "
                f"({_describe(schedules)}); stop with Ctrl+C",
                flush=True,
            )
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(args.reload_seconds):
                        await stop.wait()
                if not stop.is_set():
                    reload()
        print("pmc sync daemon: stopping (running syncs stop at their next safe point)")
        await runner.close()
        return ExitCode.OK

    return run(workspace, work())


def _daemon_event(event: JobEvent) -> None:
    if event.kind in (EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED):
        print(f"sync {event.job_id} {event.kind.value}: {event.message}", flush=True)
