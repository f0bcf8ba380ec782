"""The bundle's jobs, the one way both front ends run them: :func:`export_job`,
:func:`preview` (awaited by the import dialog, run by :func:`preview_job` for ``pmc import``)
and :func:`import_job`. Each job logs its result (and an import its notes), so that the
command line prints them and the GUI's jobs panel and the history keep them. Glue only:
every decision is the exporter's and the importer's."""

from __future__ import annotations

from pathlib import Path

from pmc.bundle.export import ExportOptions, ExportResult, export_bundle
from pmc.bundle.import_preview import preview_import
from pmc.bundle.importer import ImportOptions, ImportResult, import_bundle
from pmc.bundle.preview import Preview, Scan
from pmc.inventory import Cluster, Server
from pmc.jobs import Job, JobContext
from pmc.workspace import Workspace


def export_job(
    workspace: Workspace, cluster: Cluster, server: Server, path: Path, options: ExportOptions
) -> Job[ExportResult]:
    """Export ``server`` to the bundle file ``path`` (none left behind on failure)."""
    title = f"Export {server.name} to {path.name}"

    async def body(ctx: JobContext) -> ExportResult:
        with ctx.step(title, server=server.name):
            result = await export_bundle(workspace.connection(cluster, server), path, options, ctx)
        ctx.log(str(result), server=server.name)
        return result

    return Job("export", title, body, cluster=cluster.name, store=workspace.store)


async def preview(
    workspace: Workspace, cluster: Cluster, server: Server, scan: Scan, options: ImportOptions
) -> Preview:
    """What importing ``scan`` into ``server`` would change (changes nothing)."""
    return await preview_import(workspace.connection(cluster, server), scan, options)


def preview_job(
    workspace: Workspace, cluster: Cluster, server: Server, scan: Scan, options: ImportOptions
) -> Job[Preview]:
    """:func:`preview` as a job (recorded in the history)."""

    async def body(_ctx: JobContext) -> Preview:
        return await preview(workspace, cluster, server, scan, options)

    title = f"Preview import of {scan.path.name} into {server.name}"
    return Job("import-preview", title, body, cluster=cluster.name, store=workspace.store)


def import_job(
    workspace: Workspace, cluster: Cluster, server: Server, scan: Scan, options: ImportOptions
) -> Job[ImportResult]:
    """Import ``scan`` into ``server`` after an automatic backup; rolled back on failure."""

    async def body(ctx: JobContext) -> ImportResult:
        connection = workspace.connection(cluster, server)
        result = await import_bundle(connection, scan.path, options, ctx, scan=scan)
        ctx.log(str(result), server=server.name)
        for note in result.notes:  # e.g. a service the server does not have, skipped
            ctx.log(f"note: {note}", server=server.name)
        return result

    title = f"Import {scan.path.name} into {server.name}"
    return Job("import", title, body, cluster=cluster.name, store=workspace.store)
