"""The main window's cluster flows beyond setup and sync: Cluster ▸ Switch over… and
Cluster ▸ History (each a dialog of its own)."""

from __future__ import annotations

from .history_dialog import HistoryDialog
from .switchover_dialog import SwitchoverDialog
from .window_parts import WindowFlows


class ClusterFlows(WindowFlows):
    def switch_over(self) -> None:
        cluster = self.selection.current_cluster()
        if cluster is not None:
            self.dialogs.show(SwitchoverDialog(self.session, cluster, self.window))

    def history(self) -> None:
        cluster = self.selection.current_cluster()
        if cluster is not None:
            self.dialogs.show(HistoryDialog(self.session, cluster.name, self.window))
