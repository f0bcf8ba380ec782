"""Wizard page 1: which cluster, which architecture — with the vendor's manual's explanation."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QVBoxLayout, QWizardPage

from pmc.inventory import Architecture, Cluster, Inventory
from pmc.setup import SUPPORTED

from ..architecture_text import EXPLANATIONS
from ..translation import count, tr
from ..widgets import wrapped_label


class ChoosePage(QWizardPage):
    def __init__(self, inventory: Inventory, cluster: Cluster) -> None:
        super().__init__()
        self.setObjectName("choosePage")
        self.setTitle(tr("Cluster and architecture"))
        self.setSubTitle(tr("Choose the cluster to set up and how its servers back each other up."))
        self.inventory = inventory
        self.cluster_box = QComboBox()
        self.cluster_box.setObjectName("clusterBox")
        for c in inventory.clusters:
            self.cluster_box.addItem(f"{c.name} ({count(len(c.servers), 'server')})", c.name)
        index = self.cluster_box.findData(cluster.name)
        self.cluster_box.setCurrentIndex(max(0, index))
        self.architecture_box = QComboBox()
        self.architecture_box.setObjectName("architectureBox")
        for arch in SUPPORTED:
            self.architecture_box.addItem(arch.title, arch)
        self.explanation = wrapped_label("architectureExplanation")
        self.explanation.setMinimumHeight(110)
        self.servers = wrapped_label("clusterServers")
        form = QFormLayout()
        form.addRow(tr("&Cluster:"), self.cluster_box)
        form.addRow(tr("&Architecture:"), self.architecture_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.explanation)
        layout.addWidget(self.servers)
        layout.addStretch(1)
        self.cluster_box.currentIndexChanged.connect(self._cluster_changed)
        self.architecture_box.currentIndexChanged.connect(self._explain)
        self._cluster_changed()

    @property
    def cluster(self) -> Cluster:
        return self.inventory.cluster(self.cluster_box.currentData())

    @property
    def architecture(self) -> Architecture:
        return Architecture(self.architecture_box.currentData())

    def _cluster_changed(self) -> None:
        cluster = self.cluster
        index = self.architecture_box.findData(cluster.architecture)
        if index >= 0:
            self.architecture_box.setCurrentIndex(index)
        rows = "".join(
            f"<li><b>{s.name}</b> ({s.role.value}) eth3 {s.management_address}, "
            f"eth2 {s.redundancy_address or '—'}</li>"
            for s in cluster.servers
        )
        self.servers.setText(
            tr("Servers of {name}:<ul>{rows}</ul>").format(name=cluster.name, rows=rows)
        )
        self._explain()

    def _explain(self) -> None:
        self.explanation.setText(EXPLANATIONS[self.architecture])
