"""What every ``pmc`` command shares: the exit codes, the workspace a command works on, how a
job runs and prints its events, and how the operator confirms a change.

Exit codes are the same everywhere (:class:`ExitCode`): 0 done, 1 failed (and rolled back
where that applies), 2 bad input (nothing was changed), 130 cancelled by the operator.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import TypeVar

from pmc.cli.connect import make_pool
from pmc.cluster_lock import cluster_lock
from pmc.errors import Cancelled, InputError, PmcError
from pmc.jobs import EventKind, Job, JobEvent
from pmc.log import configure_logging
from pmc.paths import default_inventory_path
from pmc.remote.connection import Connection
from pmc.store import Store
from pmc.workspace import Workspace

T = TypeVar("T")
P = TypeVar("P")

GuiLauncher = Callable[[list[str]], int]
Handler = Callable[[argparse.Namespace], int]


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # and rolled back where that applies
    BAD_INPUT = 2  # nothing was changed
    CANCELLED = 130


# ---- a command's run ------------------------------------------------------------------------
def run_command(
    parser: argparse.ArgumentParser, args: argparse.Namespace, gui: GuiLauncher | None
) -> int:
    """Run the parsed command; PMC's errors become their exit code and one ``pmc: …`` line."""
    if args.command is None:
        parser.print_help()
        return ExitCode.BAD_INPUT
    if args.command == "gui":
        return run_gui(gui, args)
    handler: Handler = args.handler
    _start_logging(bool(getattr(args, "verbose", False)))
    try:
        return handler(args)
    except Cancelled as exc:
        print(f"pmc: cancelled: {exc}", file=sys.stderr)
        return ExitCode.CANCELLED
    except InputError as exc:
        print(f"pmc: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except PmcError as exc:
        print(f"pmc: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    except KeyboardInterrupt:
        print("pmc: interrupted", file=sys.stderr)
        return ExitCode.CANCELLED


def run_gui(gui: GuiLauncher | None, args: argparse.Namespace) -> int:
    if gui is None:
        print("pmc: the desktop app is not available in this installation", file=sys.stderr)
        return ExitCode.FAILED
    gui_args = list(getattr(args, "gui_args", []))
    if getattr(args, "inventory", None):
        gui_args += ["--inventory", args.inventory]
    if getattr(args, "verbose", False):
        gui_args.append("--verbose")  # the app logs to its file only (ui.app.start_logging)
    return gui(gui_args)


def _start_logging(verbose: bool) -> None:
    try:
        configure_logging(verbose)
    except OSError as exc:
        print(f"pmc: cannot write the log file ({exc}); continuing without it", file=sys.stderr)


def inventory_path(args: argparse.Namespace) -> Path:
    """``--inventory FILE``, or the inventory in the operator's config folder."""
    given: str | None = getattr(args, "inventory", None)
    return Path(given) if given else default_inventory_path()


def workspace_of(args: argparse.Namespace) -> Workspace:
    """The workspace of a command: its inventory, the job history, and — for a command with
    connection options (:func:`pmc.cli.connect.add_connection_options`) — a pool made on
    first use with their trust decision and connect timeout."""
    connects = hasattr(args, "trust_fingerprint")
    return Workspace(
        inventory_path(args),
        make_pool=(lambda: make_pool(args)) if connects else None,
        open_store=Store.open,
    )


# ---- jobs -----------------------------------------------------------------------------------
def run(workspace: Workspace, work: Awaitable[T]) -> T:
    """Run ``work`` on an event loop of its own; then close the workspace's connections."""

    async def main() -> T:
        try:
            return await work
        finally:
            await workspace.close()

    return asyncio.run(main())


async def follow(job: Job[T]) -> T:
    """Print ``job``'s events (those already past too), ask it to stop at its next safe point
    on Ctrl+C or SIGTERM, and return its result or raise its error once it has ended."""
    job.subscribe(EventPrinter(), replay=True)
    with on_signals(job.cancel):
        return await job.outcome()


def run_job(workspace: Workspace, make: Callable[[], Job[T]]) -> T:
    """Start the job ``make`` gives (on its own event loop), follow it to its end: its result,
    or its error raised (for :func:`run_command` to turn into the exit code)."""
    return run(workspace, start_and_follow(make))


async def start_and_follow(make: Callable[[], Job[T]]) -> T:
    """:func:`run_job` on the running loop (for commands that run several jobs under one
    cluster lock)."""
    job = make()
    job.start()
    return await follow(job)


async def show_confirm_run(
    connections: Iterable[Connection],
    *,
    job: str,
    first: Callable[[], Job[P]],
    show: Callable[[P], str],
    question: Callable[[P], str | None],
    yes: bool,
    refusal: str,
    then: Callable[[P], Job[T]],
    answers: Collection[str] = ("y", "yes"),
) -> tuple[P, T | None]:
    """A change the operator sees before it is made, under one cluster lock from the first
    job to the end of the change (:mod:`pmc.cluster_lock`: nobody changes the servers between
    what is shown and the change): run ``first`` (a plan, a preview), print ``show`` of its
    result, ask ``question`` (None: nothing to do), then run ``then``. The first job's result,
    and the change's (None when there was nothing to do or the operator said no)."""
    async with cluster_lock(connections, job=job, log=say):
        found = await start_and_follow(first)
        print(show(found), end="", flush=True)
        asked = question(found)
        if asked is None or not await confirmed(asked, yes=yes, refusal=refusal, answers=answers):
            return found, None
        return found, await start_and_follow(lambda: then(found))


def say(text: str) -> None:
    """A line for the operator outside any job (e.g. what the cluster lock cleared)."""
    print(text, file=sys.stderr, flush=True)


async def confirmed(
    question: str, *, yes: bool, refusal: str, answers: Collection[str] = ("y", "yes")
) -> bool:
    """:func:`confirm` from a coroutine (the loop keeps running while the operator types)."""
    if yes:
        return True
    return await asyncio.to_thread(confirm, question, yes=yes, refusal=refusal, answers=answers)


class EventPrinter:
    """The command line's rendering of a job's events: steps and log lines on stdout;
    warnings, errors and failed steps on stderr; progress on a terminal as one line that
    rewrites itself (nothing elsewhere). A job's end is told once, by its result or its
    error."""

    WIDTH = 110

    def __init__(self) -> None:
        self.progress_shown = False

    def __call__(self, event: JobEvent) -> None:
        where = f"[{event.server}] " if event.server else ""
        if event.kind is EventKind.PROGRESS:
            if event.message and sys.stderr.isatty():
                share = f"{event.fraction * 100:3.0f}% " if event.fraction is not None else ""
                text = f"{share}{event.message}"[: self.WIDTH]
                print(f"\r{text:<{self.WIDTH}}", end="", file=sys.stderr, flush=True)
                self.progress_shown = True
            return
        if event.kind not in (EventKind.LOG, EventKind.STEP_STARTED, EventKind.STEP_FAILED):
            return
        if self.progress_shown:
            print("\r" + " " * self.WIDTH + "\r", end="", file=sys.stderr)
            self.progress_shown = False
        if event.kind is EventKind.STEP_STARTED:
            print(f"» {where}{event.message}", flush=True)
        elif event.kind is EventKind.STEP_FAILED:
            print(f"✗ {where}{event.message}", file=sys.stderr, flush=True)
        elif event.level in ("warning", "error"):
            print(f"  {where}{event.level}: {event.message}", file=sys.stderr, flush=True)
        else:
            print(f"  {where}{event.message}", flush=True)


@contextmanager
def on_signals(action: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call ``action`` (cancel a job, stop a daemon) instead of ending the
    process, while the running loop is inside the block (not on Windows)."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, action)
        except (NotImplementedError, RuntimeError):  # Windows
            continue
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


# ---- the operator's consent -----------------------------------------------------------------
def confirm(
    question: str,
    *,
    yes: bool,
    refusal: str,
    answers: Collection[str] = ("y", "yes"),
) -> bool:
    """Whether the operator agrees: ``--yes``, or one of ``answers`` typed on the terminal.
    Without a terminal to ask on: InputError ``refusal`` (nothing was changed)."""
    if yes:
        return True
    if sys.stdin is None or not sys.stdin.isatty():
        raise InputError(refusal, hint="Run it in a terminal, or add --yes.")
    return input(question).strip().lower() in answers
