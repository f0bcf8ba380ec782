"""The Import… dialog's choices: which parts of the bundle to import, whether the data folders
are left out of the automatic backup, whether the target keeps its own addresses or takes the
bundle's adapted to them, and whether the services the import affects are restarted
(:meth:`ImportChoices.options`)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from pmc.bundle.importer import ImportOptions
from pmc.bundle.manifest import ALL_PARTS, PART_CONFIG, PART_DATA
from pmc.catalog import PART_DATABASE, PART_EPG

from .translation import tr
from .widgets import two_choices

PART_LABELS = {
    PART_DATABASE: "Configuration database",
    PART_EPG: "EPG",
    PART_CONFIG: "API config (spoolers.json, replicate.conf)",
    PART_DATA: "Data folders (carousel, av, ts)",
}


class ImportChoices(QWidget):
    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.parts: dict[str, QCheckBox] = {}
        parts_box = QGroupBox(tr("Parts to import"))
        parts_layout = QVBoxLayout(parts_box)
        for part in ALL_PARTS:
            box = QCheckBox(PART_LABELS[part])
            box.setObjectName(f"part_{part}")
            box.setEnabled(False)
            box.toggled.connect(self.changed)
            self.parts[part] = box
            parts_layout.addWidget(box)
        self.backup_without_data = QCheckBox(
            tr("Leave the data folders out of the automatic backup")
        )
        self.backup_without_data.setObjectName("backupWithoutData")
        self.backup_without_data.setToolTip(
            tr(
                "Faster, e.g. right after an export or over a slow link: the automatic backup "
                "then holds no carousel, av or ts files. A failed import still puts the "
                "previous data folders back (they are kept on the server until the import is "
                "verified), but the backup alone cannot."
            )
        )
        self.backup_without_data.setEnabled(False)
        self.backup_without_data.toggled.connect(self.changed)
        self.parts[PART_DATA].toggled.connect(self._data_chosen)
        indented = QHBoxLayout()  # a choice about the data folders above, not a part
        indented.addSpacing(24)
        indented.addWidget(self.backup_without_data, 1)
        parts_layout.addLayout(indented)
        addr_box = QGroupBox(tr("The target's own addresses"))
        addr_layout = QVBoxLayout(addr_box)
        self.keep, self.adapt = two_choices(
            self,
            ("addressesKeep", "Keep: the target keeps its spoolers.json and replicate.conf"),
            ("addressesAdapt", "Adapt: take the bundle's, rewritten to the target's addresses"),
        )
        self.keep.toggled.connect(self.changed)
        addr_layout.addWidget(self.keep)
        addr_layout.addWidget(self.adapt)
        addr_layout.addWidget(QLabel(tr("(A bundle of the same server is restored as it is.)")))
        self.restart = QCheckBox(tr("Restart the services the import affects, then verify"))
        self.restart.setObjectName("restartServices")
        self.restart.setChecked(True)
        self.restart.toggled.connect(self.changed)
        addr_layout.addWidget(self.restart)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(parts_box, 1)
        row.addWidget(addr_box, 1)

    def offer(self, parts: tuple[str, ...]) -> None:
        """The bundle holds ``parts``: each can be chosen (and is), the others cannot."""
        for part, box in self.parts.items():
            box.setEnabled(part in parts)
            box.setChecked(part in parts)

    def _data_chosen(self, chosen: bool) -> None:
        """Only an import of the data folders has data to leave out of its backup."""
        self.backup_without_data.setEnabled(chosen)

    def freeze(self) -> None:
        """The import runs: nothing can be changed any more."""
        frozen = (self.keep, self.adapt, self.restart, self.backup_without_data)
        for widget in (*frozen, *self.parts.values()):
            widget.setEnabled(False)

    def options(self) -> ImportOptions:
        parts = tuple(p for p, box in self.parts.items() if box.isChecked())
        return ImportOptions(
            parts=parts,
            addresses="adapt" if self.adapt.isChecked() else "keep",
            backup_without_data=PART_DATA in parts and self.backup_without_data.isChecked(),
            restart=self.restart.isChecked(),
        )
