"""The main window's bundle flows: Server ▸ Settings ▸ Export… and Import… open their dialogs
on the selected server (:mod:`ui.export_dialog`, :mod:`ui.import_dialog`)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from .async_dialog import Dialogs
from .export_dialog import ExportDialog
from .import_dialog import ImportDialog
from .session import Session
from .window_selection import Selection


class BundleFlows:
    def __init__(
        self, window: QWidget, session: Session, selection: Selection, dialogs: Dialogs
    ) -> None:
        self.window = window
        self.session = session
        self.selection = selection
        self.dialogs = dialogs

    def _selected(self) -> tuple[str | None, str | None]:
        cluster, server = self.selection.current_cluster(), self.selection.current_server()
        return (cluster.name if cluster else None), (server.name if server else None)

    def export(self) -> None:
        self.dialogs.show(ExportDialog(self.session, *self._selected(), self.window))

    def import_bundle(self) -> None:
        self.dialogs.show(ImportDialog(self.session, *self._selected(), self.window))
