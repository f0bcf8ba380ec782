"""What an import would change on a server, shown before it runs (changes nothing)."""

from __future__ import annotations

from pmc.bundle.import_plan import config_path
from pmc.bundle.importer import BundleImport, ImportOptions
from pmc.bundle.manifest import CONFIG_FILES, PART_CONFIG
from pmc.bundle.preview import (
    Preview,
    Scan,
    config_diff,
    diff_files,
    diff_rows,
    target_counts,
    target_files,
    target_table_text,
)
from pmc.catalog import PART_DATABASE, PART_EPG
from pmc.errors import PmcError
from pmc.remote import files
from pmc.remote.connection import Connection


async def preview_import(
    connection: Connection,
    scan: Scan,
    options: ImportOptions | None = None,
) -> Preview:
    """The difference the import would make on ``connection``'s server: the import's own
    checks (:meth:`BundleImport.check`), then each table, data folder and config file
    compared with the target's. Changes nothing."""
    checked = await BundleImport.check(connection, scan.path, options, None, scan)
    parts, catalog = checked.parts, checked.catalog
    result = Preview(scan, connection.label)
    counts = await target_counts(connection, [t.name for t in checked.tables])
    for spec in checked.tables:
        result.tables[spec.name] = (scan.checksums.rows.get(spec.name, 0), counts[spec.name])
        member = f"db/{spec.name}.copy"
        if member in scan.small:
            cols = [c for c, _ in spec.columns]
            theirs = await target_table_text(connection, spec.name, cols)
            result.rows.append(
                diff_rows(spec.name, cols, scan.small[member].decode("utf-8", "replace"), theirs)
            )
    for key, path in checked.stage.items():
        ours = {
            n[len(f"data/{key}/") :]: v
            for n, v in scan.files.items()
            if n.startswith(f"data/{key}/")
        }
        result.files.append(diff_files(key, ours, await target_files(connection, path)))
    if PART_CONFIG in parts:
        result.config_actions = checked.result.config_actions
        for name in CONFIG_FILES:
            if name in checked.writes:
                try:
                    current = await files.read_bytes(connection, config_path(checked.layout, name))
                except PmcError:
                    current = None
                result.config_diffs[name] = config_diff(name, checked.writes[name], current)
    if (
        PART_EPG not in parts
        and any(t.part == PART_EPG for t in catalog.tables.values())
        and PART_DATABASE in parts
    ):
        result.notes.append(
            "the target's EPG is kept (events of services that the bundle removes are dropped)"
        )
    return result
