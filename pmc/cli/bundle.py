"""``pmc export``, ``pmc import`` and ``pmc bundle inspect``: configuration bundles.

SERVER is ``cluster/server`` or a server name that is unique in the inventory. Exit codes as
everywhere: 0 done, 1 failed (an import is rolled back to its backup), 2 bad input or a
refused bundle (nothing changed), 130 cancelled.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pmc.bundle.export import ExportOptions, ExportResult, export_bundle
from pmc.bundle.importer import (
    ADDRESS_POLICIES,
    ImportOptions,
    ImportResult,
    import_bundle,
    preview_import,
)
from pmc.bundle.manifest import ALL_PARTS
from pmc.bundle.preview import scan_bundle
from pmc.bundle.progress import ByteProgress
from pmc.cli.common import ExitCode, confirm, run_job, workspace_of
from pmc.cli.connect import add_connection_options
from pmc.errors import InputError
from pmc.jobs import Job, JobContext


def register_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", metavar="SERVER", help="cluster/server or a unique server name")
    parser.add_argument("-o", "--output", metavar="FILE", required=True, type=Path)
    parser.add_argument("--with-epg", action="store_true", help="include the EPG (eit_event…)")
    parser.add_argument("--no-data", action="store_true", help="leave out carousel, av, ts files")
    parser.add_argument("--no-config", action="store_true", help="leave out spoolers.json etc.")
    add_connection_options(parser)
    parser.set_defaults(handler=_export)


def register_import(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", metavar="FILE", type=Path)
    parser.add_argument("server", metavar="SERVER", help="cluster/server or a unique server name")
    parser.add_argument(
        "--parts",
        metavar="PART,…",
        help=f"only these parts ({', '.join(ALL_PARTS)}); default: all the bundle holds",
    )
    parser.add_argument(
        "--addresses",
        choices=ADDRESS_POLICIES,
        default="keep",
        help="spoolers.json and replicate.conf from another server: keep the target's own "
        "(default) or adapt the bundle's to the target's addresses",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would change, change nothing"
    )
    parser.add_argument("--yes", action="store_true", help="do not ask before importing")
    parser.add_argument(
        "--backup-dir", metavar="DIR", type=Path, help="where the automatic backup goes"
    )
    parser.add_argument(
        "--no-restart", action="store_true", help="do not restart the services the import affects"
    )
    add_connection_options(parser)
    parser.set_defaults(handler=_import)


def register_tools(parser: argparse.ArgumentParser) -> None:
    bsub = parser.add_subparsers(dest="bundle_command", metavar="COMMAND", required=True)
    ins = bsub.add_parser("inspect", help="verify a bundle and show what it holds")
    ins.add_argument("bundle", metavar="FILE", type=Path)
    ins.set_defaults(handler=_inspect)


def _export(args: argparse.Namespace) -> int:
    options = ExportOptions(epg=args.with_epg, data=not args.no_data, config=not args.no_config)
    workspace = workspace_of(args)
    cluster, server = workspace.server(args.server)  # bad input before anything starts

    def export_job() -> Job[ExportResult]:
        async def body(ctx: JobContext) -> ExportResult:
            connection = workspace.connection(cluster, server)
            return await export_bundle(connection, args.output, options, ctx)

        return Job(
            "export", f"Export {args.server}", body, cluster=cluster.name, store=workspace.store
        )

    print(run_job(workspace, export_job))
    return ExitCode.OK


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
    workspace = workspace_of(args)
    cluster, server = workspace.server(args.server)
    progress = ByteProgress(None, "Verifying", None)
    print(f"verifying {args.bundle} …", file=sys.stderr)
    scan = scan_bundle(args.bundle, progress=progress)
    print(scan.summary())

    def preview_job() -> Job[str]:
        async def body(ctx: JobContext) -> str:
            connection = workspace.connection(cluster, server)
            return (await preview_import(connection, scan, options)).render()

        title = f"Preview import into {args.server}"
        return Job("import-preview", title, body, cluster=cluster.name, store=workspace.store)

    print(run_job(workspace, preview_job))
    if args.dry_run:
        print("dry run: nothing was changed")
        return ExitCode.OK
    question = f"Import {args.bundle.name} into {args.server}? Type yes to import: "
    refusal = "not importing without confirmation"
    if not confirm(question, yes=args.yes, refusal=refusal, answers=("yes",)):
        print("not imported; nothing was changed")
        return ExitCode.OK

    def import_job() -> Job[ImportResult]:
        async def body(ctx: JobContext) -> ImportResult:
            connection = workspace.connection(cluster, server)
            return await import_bundle(connection, args.bundle, options, ctx, scan=scan)

        return Job(
            "import",
            f"Import into {args.server}",
            body,
            cluster=cluster.name,
            store=workspace.store,
        )

    print(run_job(workspace, import_job))
    return ExitCode.OK


def _inspect(args: argparse.Namespace) -> int:
    scan = scan_bundle(args.bundle)
    print(scan.summary())
    return ExitCode.OK
