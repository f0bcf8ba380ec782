"""``pmc setup plan|apply|verify``: redundancy setup from the command line.

- ``plan`` observes the servers and prints every step with its reason and diff (changes nothing);
- ``apply`` prints the plan, asks before changing anything (unless ``--yes``), applies it as a
  Job and prints its events; a failure is rolled back on every server;
- ``verify`` runs the manual's checks, one line each.

Exit codes: 0 done (verify: all checks pass), 1 failed and rolled back (verify: a check
failed), 2 bad input (nothing was changed), 130 cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from pmc.cli.connect import trust_decision
from pmc.errors import InputError
from pmc.inventory import Architecture, Cluster
from pmc.inventory_file import load_inventory
from pmc.jobs import EventKind, Job, JobContext, JobEvent
from pmc.paths import default_inventory_path, state_db_path
from pmc.plan import Plan, render_text
from pmc.remote.connection import Connection
from pmc.remote.host_keys import TrustDecision
from pmc.remote.pool import ConnectionPool
from pmc.setup import SUPPORTED, SetupOptions, make_plan
from pmc.setup.apply import apply_plan
from pmc.setup.observe import observe_cluster
from pmc.setup.planning import validate_cluster
from pmc.setup.verify import VerifyReport, verify
from pmc.store import Store

T = TypeVar("T")

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("setup", help="plan, apply and verify redundancy of a cluster")
    actions = parser.add_subparsers(dest="setup_command", metavar="ACTION", required=True)
    for name, text, handler in (
        ("plan", "show every change, with reasons and diffs (changes nothing)", _plan),
        ("apply", "apply the plan after asking (rolled back on failure)", _apply),
        ("verify", "run the manual's checks on the servers", _verify),
    ):
        p = actions.add_parser(name, help=text)
        p.add_argument("--cluster", required=True, help="cluster name in the inventory")
        p.add_argument(
            "--architecture",
            choices=[a.value for a in SUPPORTED],
            help="redundancy architecture (default: the cluster's own)",
        )
        p.add_argument(
            "--trust-fingerprint",
            action="append",
            default=[],
            metavar="SHA256:…",
            help="trust this host key fingerprint if a server's key is not known yet",
        )
        if name in ("plan", "apply"):
            p.add_argument(
                "--permit-root-login",
                choices=["prohibit-password", "yes"],
                default="prohibit-password",
                help="sshd PermitRootLogin to ensure (default: keys only)",
            )
            p.add_argument(
                "--listen-all",
                action="store_true",
                help="listen_addresses = '*' as the manual says (default: localhost + eth2)",
            )
            p.add_argument(
                "--harden-root-login",
                action="store_true",
                help="PermitRootLogin prohibit-password even where it is 'yes' (root passwords"
                " refused; PMC must log in by key)",
            )
        if name == "apply":
            p.add_argument("--yes", action="store_true", help="do not ask before changing")
        if name == "verify":
            p.add_argument(
                "--end-to-end",
                action="store_true",
                help="also run copy config once and compare the configuration tables",
            )
        p.set_defaults(handler=handler)


def _cluster(args: argparse.Namespace) -> tuple[Cluster, Architecture]:
    path = Path(args.inventory) if getattr(args, "inventory", None) else default_inventory_path()
    inventory = load_inventory(path).inventory
    try:
        cluster = inventory.cluster(args.cluster)
    except KeyError:
        raise InputError(
            f"no cluster {args.cluster!r} in the inventory",
            where=str(path),
            hint="See `pmc inventory list`.",
        ) from None
    validate_cluster(cluster)  # bad input is refused before any connection is opened
    return cluster, Architecture(args.architecture or cluster.architecture)


def _options(args: argparse.Namespace) -> SetupOptions:
    return SetupOptions(
        permit_root_login=args.permit_root_login,
        listen_all=args.listen_all,
        harden_root_login=args.harden_root_login,
    )


def _trust(args: argparse.Namespace) -> TrustDecision:
    # the shared rule (pmc.cli.connect): listed fingerprints, else ask on a terminal, else
    # refuse with how to trust the key
    return trust_decision(args.trust_fingerprint)


def _printer(event: JobEvent) -> None:
    if event.kind is EventKind.PROGRESS:
        return
    where = f"[{event.server}] " if event.server and event.kind is EventKind.LOG else ""
    mark = {
        EventKind.STEP_STARTED: "→ ",
        EventKind.STEP_FINISHED: "✓ ",
        EventKind.STEP_FAILED: "✗ ",
        EventKind.FAILED: "FAILED: ",
        EventKind.CANCELLED: "CANCELLED: ",
    }.get(event.kind, "")
    if event.kind is EventKind.STEP_FINISHED:
        return
    print(f"{mark}{where}{event.message}", file=sys.stderr)


def _run(
    kind: str,
    title: str,
    cluster: Cluster,
    args: argparse.Namespace,
    body: Callable[[JobContext, dict[str, Connection]], Awaitable[T]],
    *,
    store: Store | None = None,
) -> T:
    async def main() -> T:
        pool = ConnectionPool(trust=_trust(args))
        conns = {s.name: pool.connection(s, cluster.name) for s in cluster.servers}
        job: Job[T] = Job(kind, title, lambda ctx: body(ctx, conns), cluster=cluster.name,
                          store=store)  # fmt: skip
        job.subscribe(_printer)
        task = job.start()
        try:
            return await task
        except asyncio.CancelledError:
            job.cancel()
            return await job.wait()
        finally:
            await pool.close()

    return asyncio.run(main())


async def _make_plan(
    cluster: Cluster, arch: Architecture, options: SetupOptions, conns: dict[str, Connection]
) -> Plan:
    facts = await observe_cluster(cluster, conns)
    return make_plan(cluster, facts, arch, options)


def _plan(args: argparse.Namespace) -> int:
    cluster, arch = _cluster(args)
    options = _options(args)

    async def body(ctx: JobContext, conns: dict[str, Connection]) -> Plan:
        with ctx.step("observe the servers"):
            return await _make_plan(cluster, arch, options, conns)

    plan = _run("setup-plan", f"plan {arch.value} for {cluster.name}", cluster, args, body)
    print(render_text(plan), end="")
    return EXIT_OK


def _apply(args: argparse.Namespace) -> int:
    cluster, arch = _cluster(args)
    options = _options(args)

    async def plan_body(ctx: JobContext, conns: dict[str, Connection]) -> Plan:
        with ctx.step("observe the servers"):
            return await _make_plan(cluster, arch, options, conns)

    plan = _run("setup-plan", f"plan {arch.value} for {cluster.name}", cluster, args, plan_body)
    print(render_text(plan), end="")
    if plan.is_empty:
        print("Nothing to apply.")
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            raise InputError(
                "apply needs a confirmation", hint="Run it in a terminal or add --yes."
            )
        answer = input(f"Apply these {len(plan.steps)} steps to {cluster.name}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing was changed.")
            return EXIT_OK
    store = Store.open(state_db_path())

    async def body(ctx: JobContext, conns: dict[str, Connection]) -> object:
        return await apply_plan(plan, cluster, conns, ctx, store=store)

    try:
        report = _run("setup-apply", f"apply {arch.value} to {cluster.name}", cluster, args,
                      body, store=store)  # fmt: skip
    finally:
        store.close()
    print(report)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    cluster, arch = _cluster(args)

    async def body(ctx: JobContext, conns: dict[str, Connection]) -> VerifyReport:
        with ctx.step("run the checks"):
            return await verify(cluster, conns, arch, end_to_end_check=args.end_to_end)

    report = _run("setup-verify", f"verify {arch.value} of {cluster.name}", cluster, args, body)
    print(report)
    return EXIT_OK if report.ok else EXIT_FAILED
