"""``pmc export``, ``pmc import`` and ``pmc bundle inspect``: configuration bundles.

SERVER is ``cluster/server`` or a server name that is unique in the inventory. Exit codes as
everywhere: 0 done, 1 failed (an import is rolled back to its backup), 2 bad input or a
refused bundle (nothing changed), 130 cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from pmc.bundle.export import ExportOptions, export_bundle
from pmc.bundle.importer import ADDRESS_POLICIES, ImportOptions, import_bundle, preview_import
from pmc.bundle.manifest import ALL_PARTS
from pmc.bundle.preview import scan_bundle
from pmc.bundle.progress import ByteProgress
from pmc.cli.connect import add_connection_options, make_pool
from pmc.errors import InputError
from pmc.inventory import Cluster, Server
from pmc.inventory_file import load_inventory
from pmc.jobs import EventKind, Job, JobContext, JobEvent
from pmc.paths import default_inventory_path
from pmc.remote.connection import Connection
from pmc.store import Store

T = TypeVar("T")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    exp = sub.add_parser("export", help="export a server's configuration into a bundle file")
    exp.add_argument("server", metavar="SERVER", help="cluster/server or a unique server name")
    exp.add_argument("-o", "--output", metavar="FILE", required=True, type=Path)
    exp.add_argument("--with-epg", action="store_true", help="include the EPG (eit_event…)")
    exp.add_argument("--no-data", action="store_true", help="leave out carousel, av, ts files")
    exp.add_argument("--no-config", action="store_true", help="leave out spoolers.json etc.")
    add_connection_options(exp)
    exp.set_defaults(handler=_export)

    imp = sub.add_parser("import", help="import a bundle file into a server")
    imp.add_argument("bundle", metavar="FILE", type=Path)
    imp.add_argument("server", metavar="SERVER", help="cluster/server or a unique server name")
    imp.add_argument(
        "--parts",
        metavar="PART,…",
        help=f"only these parts ({', '.join(ALL_PARTS)}); default: all the bundle holds",
    )
    imp.add_argument(
        "--addresses",
        choices=ADDRESS_POLICIES,
        default="keep",
        help="spoolers.json and replicate.conf from another server: keep the target's own "
        "(default) or adapt the bundle's to the target's addresses",
    )
    imp.add_argument(
        "--dry-run", action="store_true", help="show what would change, change nothing"
    )
    imp.add_argument("--yes", action="store_true", help="do not ask before importing")
    imp.add_argument(
        "--backup-dir", metavar="DIR", type=Path, help="where the automatic backup goes"
    )
    imp.add_argument(
        "--no-restart", action="store_true", help="do not restart the services the import affects"
    )
    add_connection_options(imp)
    imp.set_defaults(handler=_import)

    bundle = sub.add_parser("bundle", help="configuration bundle tools")
    bsub = bundle.add_subparsers(dest="bundle_command", metavar="COMMAND", required=True)
    ins = bsub.add_parser("inspect", help="verify a bundle and show what it holds")
    ins.add_argument("bundle", metavar="FILE", type=Path)
    ins.set_defaults(handler=_inspect)


def find_server(args: argparse.Namespace) -> tuple[Cluster, Server]:
    """The inventory's server for SERVER (``cluster/server`` or a unique name)."""
    path = Path(args.inventory) if getattr(args, "inventory", None) else default_inventory_path()
    inventory = load_inventory(path).inventory
    wanted: str = args.server
    cluster_name, _, server_name = wanted.rpartition("/")
    found = [
        (c, s)
        for c in inventory.clusters
        if not cluster_name or c.name == cluster_name
        for s in c.servers
        if s.name == server_name
    ]
    if not found:
        raise InputError(f"no server {wanted!r} in the inventory", where=str(path),
                         hint="See `pmc inventory list`.")  # fmt: skip
    if len(found) > 1:
        names = ", ".join(f"{c.name}/{s.name}" for c, s in found)
        raise InputError(f"{wanted!r} is ambiguous ({names})", where=str(path),
                         hint="Name it as cluster/server.")  # fmt: skip
    return found[0]


def _printer(event: JobEvent) -> None:
    if event.kind is EventKind.PROGRESS:
        if sys.stderr.isatty():
            print(f"\r{event.message[:110]:<110}", end="", file=sys.stderr, flush=True)
        return
    if event.kind in (EventKind.STEP_STARTED, EventKind.LOG, EventKind.STEP_FAILED):
        if sys.stderr.isatty():
            print("\r" + " " * 110 + "\r", end="", file=sys.stderr)
        prefix = "warning: " if event.level == "warning" else ""
        print(f"{prefix}{event.message}", file=sys.stderr)


def _run_job(kind: str, title: str, body: Callable[[JobContext], Awaitable[T]]) -> T:
    async def main() -> T:
        job: Job[T] = Job(kind, title, body, store=Store.open())  # history of every export/import
        job.subscribe(_printer)
        task = job.start()
        try:
            return await task
        except asyncio.CancelledError:
            job.cancel()
            raise

    return asyncio.run(main())


async def _with_connection(
    args: argparse.Namespace, work: Callable[[Connection], Awaitable[T]]
) -> T:
    cluster, server = find_server(args)
    pool = make_pool(args)
    try:
        return await work(pool.connection(server, cluster.name))
    finally:
        await pool.close()


def _export(args: argparse.Namespace) -> int:
    options = ExportOptions(epg=args.with_epg, data=not args.no_data, config=not args.no_config)
    find_server(args)  # bad input before anything starts

    async def body(ctx: JobContext) -> object:
        return await _with_connection(
            args, lambda conn: export_bundle(conn, args.output, options, ctx)
        )

    result = _run_job("export", f"Export {args.server}", body)
    print(result)
    return 0


def _parts(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in parts if p not in ALL_PARTS]
    if unknown:
        raise InputError(f"unknown part {unknown[0]!r}", hint=f"Parts: {', '.join(ALL_PARTS)}.")
    return parts


def _import(args: argparse.Namespace) -> int:
    options = ImportOptions(
        parts=_parts(args.parts),
        addresses=args.addresses,
        backup_dir=args.backup_dir,
        restart=not args.no_restart,
    )
    find_server(args)
    progress = ByteProgress(None, "Verifying", None)
    print(f"verifying {args.bundle} …", file=sys.stderr)
    scan = scan_bundle(args.bundle, progress=progress)
    print(scan.summary())

    async def preview_body(ctx: JobContext) -> str:
        async def go(conn: Connection) -> str:
            return (await preview_import(conn, scan, options)).render()

        return await _with_connection(args, go)

    print(_run_job("import-preview", f"Preview import into {args.server}", preview_body))
    if args.dry_run:
        print("dry run: nothing was changed")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise InputError("not importing without confirmation", hint="Add --yes to import.")
        answer = input(f"Import {args.bundle.name} into {args.server}? Type yes to import: ")
        if answer.strip().lower() != "yes":
            print("not imported; nothing was changed")
            return 0

    async def body(ctx: JobContext) -> object:
        return await _with_connection(
            args, lambda conn: import_bundle(conn, args.bundle, options, ctx, scan=scan)
        )

    result = _run_job("import", f"Import into {args.server}", body)
    print(result)
    return 0


def _inspect(args: argparse.Namespace) -> int:
    scan = scan_bundle(args.bundle)
    print(scan.summary())
    return 0
