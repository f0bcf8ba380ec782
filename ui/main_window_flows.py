"""The main window's operator flows (a mixin of :class:`ui.main_window.MainWindow`): new
cluster, add/edit/remove server (secrets to the keyring first, then the inventory), connect and
the changed-host-key warning, the setup wizard, verify, the export/import dialogs, the diagram
export and About. Each flow opens its dialog with ``open()`` and awaits it (no nested loop)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QMessageBox,
)

from pmc import secrets
from pmc.inventory import Cluster, Inventory, Server
from pmc.remote.errors import HostKeyChanged
from ui import placeholder_dialogs
from ui.about_dialog import AboutDialog
from ui.async_dialog import ask
from ui.cluster_dialog import ClusterDialog
from ui.error_dialog import show_error
from ui.host_key_dialog import warn_changed_key
from ui.main_window_base import WindowBase
from ui.server_dialog import ServerDialog, ServerEdit


class FlowsMixin(WindowBase):
    """Methods only; the session, tree and views are the main window's."""

    # inventory flows -----------------------------------------------------------------------
    async def new_cluster_flow(self) -> Cluster | None:
        dialog = ClusterDialog(self.session.inventory, parent=self)
        if await ask(dialog) != QDialog.DialogCode.Accepted:
            return None
        cluster = dialog.result_cluster()
        inventory = Inventory((*self.session.inventory.clusters, cluster))
        await self.session.save(inventory)
        self.tree.select(cluster.name)
        return cluster

    async def add_server_flow(self) -> Server | None:
        cluster = self.current_cluster()
        if cluster is None:
            cluster = await self.new_cluster_flow()
            if cluster is None:
                return None
        dialog = ServerDialog(cluster, self.session.inventory, self.session.tasks, parent=self)
        self.last_dialog = dialog
        if await ask(dialog) != QDialog.DialogCode.Accepted:
            return None
        edit = dialog.result_edit()
        await self._store_server(cluster, None, edit)
        return edit.server

    async def edit_server_flow(self) -> Server | None:
        cluster = self.current_cluster()
        server = self.current_server()
        if cluster is None:
            return None
        if server is None:
            dialog_c = ClusterDialog(self.session.inventory, cluster=cluster, parent=self)
            self.last_dialog = dialog_c
            if await ask(dialog_c) != QDialog.DialogCode.Accepted:
                return None
            changed = dialog_c.result_cluster()
            await self.session.replace_cluster(cluster.name, changed)
            return None
        dialog = ServerDialog(
            cluster, self.session.inventory, self.session.tasks, server=server, parent=self
        )
        self.last_dialog = dialog
        if await ask(dialog) != QDialog.DialogCode.Accepted:
            return None
        edit = dialog.result_edit()
        await self._store_server(cluster, server, edit)
        return edit.server

    async def _store_server(self, cluster: Cluster, old: Server | None, edit: ServerEdit) -> None:
        """Secrets to the keyring first (the file never holds one), then the inventory."""
        name = edit.server.name
        if edit.forget and old is not None:
            await secrets.forget_server_async(cluster.name, old.name)
        if edit.secret:
            kind = (
                secrets.SecretKind.KEY_PASSPHRASE
                if edit.server.auth.value == "key"
                else secrets.SecretKind.SSH_PASSWORD
            )
            await secrets.set_secret_async(kind, cluster.name, name, edit.secret)
        elif old is not None and old.name != name and not edit.forget:
            for kind in secrets.SecretKind:
                value = await secrets.get_secret_async(kind, cluster.name, old.name)
                if value:
                    await secrets.set_secret_async(kind, cluster.name, name, value)
            await secrets.forget_server_async(cluster.name, old.name)
        servers = [s for s in cluster.servers if old is None or s.name != old.name]
        servers.append(edit.server)
        changed = dataclasses.replace(cluster, servers=tuple(servers))
        await self.session.replace_cluster(cluster.name, changed)
        self.tree.select(cluster.name, name)

    async def remove_server_flow(self) -> bool:
        cluster, server = self.current_cluster(), self.current_server()
        if cluster is None or server is None:
            return False
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove server",
            f"Remove {server.name} ({server.management_address}) from cluster "
            f"{cluster.name}? Its stored password is deleted from the keyring. "
            "Nothing changes on the server itself.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("removeServerQuestion")
        self.last_dialog = box
        if await ask(box) != QMessageBox.StandardButton.Yes:
            return False
        await secrets.forget_server_async(cluster.name, server.name)
        changed = dataclasses.replace(
            cluster, servers=tuple(s for s in cluster.servers if s.name != server.name)
        )
        await self.session.replace_cluster(cluster.name, changed)
        return True

    # servers -------------------------------------------------------------------------------
    async def connect_flow(self) -> dict[str, str]:
        """Connect to the selected server (or all of the cluster); returns name → outcome."""
        cluster = self.current_cluster()
        if cluster is None:
            return {}
        server = self.current_server()
        targets = [server] if server else list(cluster.servers)
        self.session.forget_refusals()
        outcome: dict[str, str] = {}
        for target in targets:
            try:
                await self.session.connect(cluster, target)
            except HostKeyChanged as exc:
                outcome[target.name] = "host key changed"
                await self._warn_changed(exc, cluster, target)
            except Exception as exc:  # shown in the status bar and the dialog
                outcome[target.name] = str(exc)
                show_error(self, f"connecting to {target.name}", exc)
            else:
                outcome[target.name] = "connected"
        self.statusBar().showMessage("; ".join(f"{k}: {v}" for k, v in outcome.items()), 10000)
        self.poller.refresh()
        return outcome

    def _host_key_changed(self, cluster: str, server: str, error: HostKeyChanged) -> None:
        key = f"{cluster}/{server}/{error.new_fingerprint}"
        if key in self._warned:
            return
        found = self.session.server(cluster, server)
        found_cluster = self.session.cluster(cluster)
        if found is None or found_cluster is None:
            return
        self.session.tasks.spawn(
            self._warn_changed(error, found_cluster, found), what="host key warning"
        )

    async def _warn_changed(self, error: HostKeyChanged, cluster: Cluster, server: Server) -> None:
        self._warned.add(f"{cluster.name}/{server.name}/{error.new_fingerprint}")
        if await warn_changed_key(error, self):
            await self.session.forget_host_key(server)
            self._warned.discard(f"{cluster.name}/{server.name}/{error.new_fingerprint}")
            self.statusBar().showMessage(
                f"The old key of {server.name} was forgotten. Connect to trust the new one.", 10000
            )

    # cluster actions -----------------------------------------------------------------------
    def open_wizard(self) -> None:
        cluster = self.current_cluster()
        if cluster is None:
            return
        from ui.wizard.setup_wizard import SetupWizard

        wizard = SetupWizard(self.session, cluster, parent=self)
        self.wizard = wizard
        wizard.open()

    async def verify_flow(self) -> None:
        cluster = self.current_cluster()
        if cluster is None:
            return
        job = self.session.verify_job(cluster)
        if job is None:
            show_error(self, "verifying", RuntimeError("the setup engine is not available"))
            return
        self.session.run_job(job)

    def _placeholder(self, what: str) -> None:
        cluster = self.current_cluster()
        server = self.current_server()
        dialog = placeholder_dialogs.FACTORIES[what](
            self, cluster.name if cluster else None, server.name if server else None
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_dialog = dialog
        dialog.open()

    def export_diagram_flow(self) -> None:
        cluster = self.current_cluster()
        dialog = QFileDialog(self, "Export the topology diagram")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["PNG image (*.png)", "SVG drawing (*.svg)"])
        dialog.setDefaultSuffix("png")
        dialog.selectFile(f"{cluster.name if cluster else 'cluster'}-topology.png")

        def chosen(path: str) -> None:
            try:
                self.topology.export(Path(path))
            except OSError as exc:
                show_error(self, "exporting the diagram", exc)
            else:
                self.statusBar().showMessage(f"Diagram saved to {path}", 8000)

        dialog.fileSelected.connect(chosen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_about(self) -> None:
        dialog = AboutDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_dialog = dialog
        dialog.open()
