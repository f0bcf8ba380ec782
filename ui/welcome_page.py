"""The first run: an empty inventory shows this page instead of three empty panes. Three ways
to begin, each in two clicks: describe a cluster, import an inventory file written elsewhere,
or start the rehearsal lab (offered where this machine can run it; otherwise the button says
why not). Where PMC keeps the inventory is shown, so the operator can back it up."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCommandLinkButton,
    QFrame,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from .icons import app_icon, icon
from .translation import tr
from .widgets import wrapped_label


class WelcomePage(QFrame):
    """Emits what the operator chose: :attr:`newCluster`, :attr:`importInventory`,
    :attr:`startLab`."""

    newCluster = Signal()
    importInventory = Signal()
    startLab = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePage")
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(64, 64))
        logo.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        title = QLabel(tr("Welcome to the Playout Management Console"))
        title.setProperty("role", "title")
        title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        intro = wrapped_label(
            "welcomeIntro",
            tr("PMC sets up the redundancy of your Playout servers, watches them and keeps "
               "main and backup in sync. There is no cluster yet: start with one of these."),
        )  # fmt: skip
        intro.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.new_button = self._choice(
            "cluster-new",
            tr("Add a cluster…"),
            tr("Name it, choose its redundancy architecture, then add its main and backup "
               "servers (addresses and SSH access)."),
            "welcomeNewCluster",
        )  # fmt: skip
        self.import_button = self._choice(
            "import",
            tr("Import an inventory…"),
            tr("Use the clusters of an inventory file PMC wrote on another desktop "
               "(passwords are not in it: PMC asks for them when it connects)."),
            "welcomeImport",
        )  # fmt: skip
        self.lab_button = self._choice(
            "lab",
            tr("Start the rehearsal lab"),
            tr("Two simulated Playout servers on this machine (real SSH and PostgreSQL): "
               "try every step before touching a live channel."),
            "welcomeLab",
        )  # fmt: skip
        self.new_button.clicked.connect(self.newCluster)
        self.import_button.clicked.connect(self.importInventory)
        self.lab_button.clicked.connect(self.startLab)
        self.where = wrapped_label("inventoryPath")
        self.where.setProperty("role", "hint")
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(logo)
        column.addWidget(title)
        column.addSpacing(4)
        column.addWidget(intro)
        column.addSpacing(12)
        for button in (self.new_button, self.import_button, self.lab_button):
            column.addWidget(button)
        column.addSpacing(12)
        column.addWidget(self.where)
        column.addStretch(2)
        box = QWidget()
        box.setLayout(column)
        box.setMaximumWidth(620)
        outer = QVBoxLayout(self)
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        self.setTabOrder(self.new_button, self.import_button)
        self.setTabOrder(self.import_button, self.lab_button)

    def _choice(self, icon_name: str, text: str, description: str, name: str) -> QCommandLinkButton:
        button = QCommandLinkButton(text, description)
        button.setObjectName(name)
        button.setIcon(icon(icon_name))
        button.setIconSize(QSize(32, 32))
        button.setAccessibleName(text.rstrip("…"))
        return button

    def set_inventory_path(self, path: Path) -> None:
        self.where.setText(tr("PMC keeps its inventory in {path}").format(path=path))

    def set_lab(self, why_not: str | None) -> None:
        """The lab button: enabled, or disabled with the reason this machine cannot run it."""
        self.lab_button.setEnabled(why_not is None)
        self.lab_button.setToolTip(why_not or "")
        if why_not is not None:
            self.lab_button.setDescription(tr("Not available here: {why}").format(why=why_not))
