"""Help ▸ About: what PMC is and the versions an operator quotes in a support request."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from pmc import __version__

from .icons import app_icon
from .translation import tr
from .widgets import wrapped_label


def versions() -> dict[str, str]:
    def of(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed"

    return {
        "PMC": __version__,
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "Python": platform.python_version(),
        "paramiko": of("paramiko"),
        "psycopg": of("psycopg"),
        "keyring": of("keyring"),
        "qasync": of("qasync"),
    }


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(tr("About PMC"))
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(72, 72))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel(tr("<h3>Playout Management Console</h3>"))
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = wrapped_label(
            "aboutText",
            tr(
                "Redundancy setup, cluster status, configuration bundles and replication for "
                "Icareus Playout head-ends."
            ),
        )
        rows = "".join(f"<tr><td>{k}</td><td><b>{v}</b></td></tr>" for k, v in versions().items())
        table = QLabel(tr("<table cellspacing=4>{rows}</table>").format(rows=rows))
        table.setObjectName("versions")
        table.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        table.setAlignment(Qt.AlignmentFlag.AlignCenter)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (logo, title, text, table, buttons):
            layout.addWidget(widget)
