"""Cluster ▸ New… (and editing a cluster): its name and redundancy architecture, with the
seed's explanation of each architecture."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from pmc.inventory import Architecture, Cluster, Inventory

from .architecture_text import EXPLANATIONS
from .form_field import FieldError
from .icons import icon
from .translation import tr
from .widgets import wrapped_label


class ClusterDialog(QDialog):
    def __init__(
        self, inventory: Inventory, *, cluster: Cluster | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("clusterDialog")
        self.inventory = inventory
        self.original = cluster
        self.setWindowTitle(f"Edit cluster {cluster.name}" if cluster else "New cluster")
        self.setWindowIcon(icon("cluster-new"))
        self.setMinimumWidth(460)
        self.name = QLineEdit(cluster.name if cluster else "")
        self.name.setPlaceholderText(tr("studio-a"))
        self.architecture = QComboBox()
        for arch in Architecture:
            self.architecture.addItem(arch.title, arch)
        chosen = cluster.architecture if cluster else Architecture.COMBINED
        self.architecture.setCurrentIndex(list(Architecture).index(chosen))
        self.explanation = wrapped_label("clusterExplanation")
        self.explanation.setMinimumHeight(90)
        self.name_error = FieldError(self.name)
        form = QFormLayout()
        form.addRow(tr("&Name:"), self.name)
        form.addRow("", self.name_error)
        form.addRow(tr("&Architecture:"), self.architecture)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.explanation)
        layout.addWidget(self.buttons)
        self.name.textChanged.connect(self.revalidate)
        self.architecture.currentIndexChanged.connect(self._explain)
        self._explain()
        self.revalidate()

    def _explain(self) -> None:
        arch = Architecture(self.architecture.currentData())
        self.explanation.setText(EXPLANATIONS[arch])

    def revalidate(self) -> bool:
        name = self.name.text().strip()
        problem = None
        if not name:
            problem = "Give the cluster a name, e.g. the studio or channel it serves."
        elif (self.original is None or self.original.name != name) and name in {
            c.name for c in self.inventory.clusters
        }:
            problem = f"There is already a cluster called {name!r}."
        self.name_error.show_error(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)
        return problem is None

    def accept(self) -> None:
        if self.revalidate():
            super().accept()

    def result_cluster(self) -> Cluster:
        base = self.original or Cluster(name="")
        return dataclasses.replace(
            base,
            name=self.name.text().strip(),
            architecture=Architecture(self.architecture.currentData()),
        )
