"""The main window's inventory flows: new cluster, add/edit/remove server (secrets to the
keyring first, then the inventory: :meth:`pmc.workspace.Workspace.store_server`), an
inventory file's clusters imported, connect, the changed-host-key warning and replacing a host
key (audited). Each flow opens its dialog with ``open()`` and awaits it (no nested loop)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from pmc.inventory import Cluster, Server
from pmc.remote.errors import HostKeyChanged

from .cluster_dialog import ClusterDialog
from .error_dialog import show_error
from .host_key_dialog import ask_fingerprint, warn_changed_key
from .server_dialog import ServerDialog
from .status_poller import StatusPoller
from .translation import count, tr
from .window_parts import WindowFlows, WindowParts


class InventoryFlows(WindowFlows):
    def __init__(self, parts: WindowParts, *, poller: StatusPoller) -> None:
        super().__init__(parts)
        self.poller = poller
        self.warned: set[str] = set()  # changed keys already shown, cluster/server/fingerprint
        self._showing: dict[str, asyncio.Future[None]] = {}  # the warnings on screen, same keys
        self.session.hostKeyChanged.connect(self._host_key_changed)

    # clusters and servers -----------------------------------------------------------------
    async def new_cluster(self) -> Cluster | None:
        dialog = ClusterDialog(self.session.inventory, parent=self.window)
        if await self.dialogs.ask(dialog) != QDialog.DialogCode.Accepted:
            return None
        cluster = dialog.result_cluster()
        await self.session.replace_cluster(cluster.name, cluster)
        self.selection.select(cluster.name)
        return cluster

    async def import_inventory(self) -> list[str]:
        """Cluster ▸ Import an inventory…: the clusters of a file PMC wrote elsewhere."""
        dialog = QFileDialog(self.window, tr("Import an inventory"))
        dialog.setObjectName("inventoryChooser")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters([tr("PMC inventory (*.toml)"), tr("All files (*)")])
        chosen: list[str] = []
        dialog.fileSelected.connect(chosen.append)
        if await self.dialogs.ask(dialog) != QDialog.DialogCode.Accepted or not chosen:
            return []
        path = Path(chosen[0])
        added: list[str] = []
        try:
            await self.session.edit(lambda workspace: added.extend(workspace.import_clusters(path)))
        except Exception as exc:
            show_error(self.window, tr("importing the inventory {path}").format(path=path), exc)
            return []
        if added:
            self.selection.select(added[0])
            self.window.statusBar().showMessage(
                tr("Added {clusters}: {names}").format(
                    clusters=count(len(added), "cluster"), names=", ".join(added)
                ),
                10000,
            )
        return added

    async def add_server(self) -> Server | None:
        cluster = self.selection.current_cluster()
        if cluster is None:
            cluster = await self.new_cluster()
            if cluster is None:
                return None
        return await self._edit_server(cluster, None)

    async def edit_server(self) -> Server | None:
        """The selected server in its dialog; with only a cluster selected, the cluster."""
        cluster = self.selection.current_cluster()
        if cluster is None:
            return None
        server = self.selection.current_server()
        if server is not None:
            return await self._edit_server(cluster, server)
        dialog = ClusterDialog(self.session.inventory, cluster=cluster, parent=self.window)
        if await self.dialogs.ask(dialog) == QDialog.DialogCode.Accepted:
            await self.session.replace_cluster(cluster.name, dialog.result_cluster())
        return None

    async def _edit_server(self, cluster: Cluster, old: Server | None) -> Server | None:
        dialog = ServerDialog(
            cluster, self.session.inventory, self.session.tasks, server=old, parent=self.window
        )
        if await self.dialogs.ask(dialog) != QDialog.DialogCode.Accepted:
            return None
        edit = dialog.result_edit()
        await self.session.edit(
            lambda workspace: workspace.store_server(
                cluster, edit.server, old=old, secret=edit.secret, forget=edit.forget
            )
        )
        self.selection.select(cluster.name, edit.server.name)
        return edit.server

    async def remove_server(self) -> bool:
        cluster, server = self.selection.current_cluster(), self.selection.current_server()
        if cluster is None or server is None:
            return False
        box = QMessageBox(
            QMessageBox.Icon.Question,
            tr("Remove server"),
            tr(
                "Remove {server} ({address}) from cluster {cluster}? Its stored password is "
                "deleted from the keyring. Nothing changes on the server itself."
            ).format(server=server.name, address=server.management_address, cluster=cluster.name),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self.window,
        )
        box.setObjectName("removeServerQuestion")
        if await self.dialogs.ask(box) != QMessageBox.StandardButton.Yes:
            return False
        for failure in await self.session.remove_server(cluster, server):
            self.window.statusBar().showMessage(failure, 15000)
        return True

    # connections ---------------------------------------------------------------------------
    async def connect(self) -> dict[str, str]:
        """Connect to the selected server (or all of the cluster); returns name → outcome."""
        cluster = self.selection.current_cluster()
        if cluster is None:
            return {}
        server = self.selection.current_server()
        targets = [server] if server else list(cluster.servers)
        self.session.forget_refusals()
        outcome: dict[str, str] = {}
        for target in targets:
            try:
                await self.session.connect(cluster, target)
            except HostKeyChanged as exc:
                outcome[target.name] = tr("host key changed")
                await self._warn_changed(exc, cluster, target)
            except Exception as exc:  # the dialog says why; the status bar only that it failed
                outcome[target.name] = tr("not connected")
                show_error(
                    self.window, tr("connecting to {server}").format(server=target.name), exc
                )
            else:
                outcome[target.name] = tr("connected")
        self.window.statusBar().showMessage(
            "; ".join(f"{k}: {v}" for k, v in outcome.items()), 10000
        )
        self.poller.refresh()
        return outcome

    def _host_key_changed(self, cluster: str, server: str, error: HostKeyChanged) -> None:
        if f"{cluster}/{server}/{error.new_fingerprint}" in self.warned:
            return
        found = self.session.server(cluster, server)
        found_cluster = self.session.cluster(cluster)
        if found is None or found_cluster is None:
            return
        self.session.tasks.spawn(
            self._warn_changed(error, found_cluster, found), what="host key warning"
        )

    async def _warn_changed(self, error: HostKeyChanged, cluster: Cluster, server: Server) -> None:
        """The changed-key warning, then Replace… if the operator asks. A Connect or a
        refresh meeting the same key while it shows waits for it: one warning, answered once."""
        key = f"{cluster.name}/{server.name}/{error.new_fingerprint}"
        showing = self._showing.get(key)
        if showing is not None:
            await asyncio.shield(showing)
            return
        showing = self._showing[key] = asyncio.get_running_loop().create_future()
        self.warned.add(key)
        try:
            if await warn_changed_key(error, self.window) and await self._replace_key(
                cluster, server
            ):
                self.warned.discard(key)
        finally:
            del self._showing[key]
            showing.set_result(None)

    async def replace_host_key(self) -> bool:
        """Server > Host key > Replace…: trust the selected server's new key (audited)."""
        cluster, server = self.selection.current_cluster(), self.selection.current_server()
        if cluster is None or server is None:
            return False
        return await self._replace_key(cluster, server)

    async def _replace_key(self, cluster: Cluster, server: Server) -> bool:
        wanted = await ask_fingerprint(f"{server.name} ({server.management_address})", self.window)
        if wanted is None:
            return False
        try:
            replaced = await self.session.replace_host_key(cluster, server, wanted)
        except Exception as exc:  # shown in a dialog: nothing was replaced
            show_error(
                self.window,
                tr("replacing the host key of {server}").format(server=server.name),
                exc,
            )
            return False
        self.window.statusBar().showMessage(str(replaced), 10000)
        self.poller.refresh()
        return True
