"""``pmc export``, ``pmc import`` and ``pmc bundle inspect``: configuration bundles.

SERVER is ``cluster/server`` or a server name that is unique in the inventory. Exit codes as
everywhere: 0 done, 1 failed (an import is rolled back to its backup), 2 bad input or a
refused bundle (nothing changed), 130 cancelled.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pmc.bundle import jobs as bundle_jobs
from pmc.bundle.export import ExportOptions
from pmc.bundle.import_plan import ADDRESS_POLICIES
from pmc.bundle.importer import ImportOptions
from pmc.bundle.manifest import ALL_PARTS
from pmc.bundle.preview import scan_bundle
from pmc.bundle.progress import ByteProgress
from pmc.cli.common import ExitCode, run, run_job, show_confirm_run, workspace_of
from pmc.cli.connect import add_connection_options
from pmc.errors import InputError


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
        "--backup-without-data",
        action="store_true",
        help="leave the data folders (carousel, av, ts files) out of the automatic backup: "
        "faster; the import's own rollback still restores them (the replaced folders are kept "
        "on the server until the import is verified), but the backup alone cannot",
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
    """The job's log shows the result."""
    options = ExportOptions(epg=args.with_epg, data=not args.no_data, config=not args.no_config)
    workspace = workspace_of(args)
    cluster, server = workspace.server(args.server)  # bad input before anything starts
    writable_file(args.output, "-o")
    run_job(
        workspace, lambda: bundle_jobs.export_job(workspace, cluster, server, args.output, options)
    )
    return ExitCode.OK


def writable_file(path: Path, option: str) -> None:
    """Refuse ``path`` as a file to write, before anything is connected or started."""
    if path.is_dir():
        raise InputError(f"{path} is a folder", where=option, hint="Give a file name in it")
    writable_folder(path.parent, option, create=False)


def writable_folder(folder: Path, option: str, *, create: bool = True) -> None:
    """Refuse ``folder`` (to write into; ``create``: or to create) unless that can work."""
    existing = folder
    while create and not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(
            f"the folder {folder} does not exist"
            if not existing.exists()
            else f"{existing} is not a folder",
            where=option,
            hint="Create it first or choose another place; nothing was started",
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(
            f"the folder {existing} is not writable for you",
            where=option,
            hint="Choose a folder you may write into; nothing was started",
        )


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
        backup_without_data=args.backup_without_data,
        restart=not args.no_restart,
    )
    workspace = workspace_of(args)
    cluster, server = workspace.server(args.server)
    if not args.bundle.is_file():
        raise InputError(f"there is no bundle file {args.bundle}", hint="Give the bundle's path")
    if args.backup_dir is not None:
        writable_folder(args.backup_dir, "--backup-dir")
    progress = ByteProgress(None, "Verifying", None)
    print(f"verifying {args.bundle} …", file=sys.stderr)
    scan = scan_bundle(args.bundle, progress=progress, hash_data=False)  # data: on import
    print(scan.summary())

    if args.dry_run:
        preview = run_job(
            workspace, lambda: bundle_jobs.preview_job(workspace, cluster, server, scan, options)
        )
        print(preview.render())
        print("dry run: nothing was changed")
        return ExitCode.OK
    _, result = run(
        workspace,
        show_confirm_run(
            [workspace.connection(cluster, server)],
            job=f"import {args.bundle.name} into {server.name}",
            first=lambda: bundle_jobs.preview_job(workspace, cluster, server, scan, options),
            show=lambda preview: preview.render() + "\n",
            question=lambda _: (
                f"Import {args.bundle.name} into {args.server}? Type yes to import: "
            ),
            yes=args.yes,
            refusal="not importing without confirmation",
            then=lambda _: bundle_jobs.import_job(workspace, cluster, server, scan, options),
            answers=("yes",),
        ),
    )
    if result is None:
        print("not imported; nothing was changed")
    return ExitCode.OK  # the job's log shows the result and its notes


def _inspect(args: argparse.Namespace) -> int:
    scan = scan_bundle(args.bundle)
    print(scan.summary())
    return ExitCode.OK
