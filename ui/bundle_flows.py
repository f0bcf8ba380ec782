"""The main window's bundle flows: Server ▸ Settings ▸ Export… and Import… open their dialogs
on the selected server (:mod:`ui.export_dialog`, :mod:`ui.import_dialog`)."""

from __future__ import annotations

from .export_dialog import ExportDialog
from .import_dialog import ImportDialog
from .window_parts import WindowFlows


class BundleFlows(WindowFlows):
    def _selected(self) -> tuple[str | None, str | None]:
        cluster, server = self.selection.current_cluster(), self.selection.current_server()
        return (cluster.name if cluster else None), (server.name if server else None)

    def export(self) -> None:
        self.dialogs.show(ExportDialog(self.session, *self._selected(), self.window))

    def import_bundle(self) -> None:
        self.dialogs.show(ImportDialog(self.session, *self._selected(), self.window))
