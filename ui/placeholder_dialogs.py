"""Menu entries whose features other work fills in: Server ▸ Settings ▸ Export… / Import…
(configuration bundles) and Cluster ▸ Synchronize all servers. Each opens a dialog that says
what is coming; the later work replaces the factory in :data:`FACTORIES`."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from ui.icons import icon

DialogFactory = Callable[[QWidget | None, str | None, str | None], QDialog]

COMING = {
    "export": (
        "Export configuration",
        "export",
        "Export writes this server's Playout configuration (database settings, carousel, av "
        "and ts files) to one bundle file of any size, with a manifest and checksums. EPG "
        "data is not included. This comes with the configuration bundles work.",
    ),
    "import": (
        "Import configuration",
        "import",
        "Import checks a bundle, shows what it would change on this server, then applies it "
        "with backups and the service restarts it needs. This comes with the configuration "
        "bundles work.",
    ),
    "sync": (
        "Synchronize all servers",
        "sync",
        "Runs copy config from main to backup as Playout's Monitoring ▸ Cluster status does, "
        "with live log, progress, cancel, history and remedies for the known failures "
        "(returned 127, returned 255, replication already in progress). This comes with the "
        "replication runner work.",
    ),
}


class ComingSoonDialog(QDialog):
    def __init__(
        self, what: str, parent: QWidget | None, cluster: str | None, server: str | None
    ) -> None:
        super().__init__(parent)
        title, icon_name, text = COMING[what]
        self.setObjectName(f"{what}Dialog")
        self.setWindowTitle(title)
        self.setWindowIcon(icon(icon_name))
        where = " / ".join(x for x in (cluster, server) if x)
        heading = QLabel(f"<b>{title}</b>" + (f" — {where}" if where else ""))
        body = QLabel(text)
        body.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(body)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)


def _coming(what: str) -> DialogFactory:
    return lambda parent, cluster, server: ComingSoonDialog(what, parent, cluster, server)


FACTORIES: dict[str, DialogFactory] = {name: _coming(name) for name in COMING}


def _bundle_dialog(what: str) -> DialogFactory:
    """Export… / Import…: the configuration bundle dialogs (ui.export_dialog, ui.import_dialog)."""

    def make(parent: QWidget | None, cluster: str | None, server: str | None) -> QDialog:
        if what == "export":
            from ui.export_dialog import create
        else:
            from ui.import_dialog import create
        return create(parent, cluster, server)

    return make


FACTORIES["export"] = _bundle_dialog("export")
FACTORIES["import"] = _bundle_dialog("import")
