"""The welcome page's "Start the rehearsal lab": a fresh two-server lab on this machine, its
cluster in the inventory, its root passwords in the keyring and its host keys trusted (the
lab made them), and this process moved into the lab's operator network so that PMC reaches
the servers — what ``pmc lab up`` and ``pmc lab inventory`` do, in two clicks. Offered only
where the machine can run the lab (:func:`lab_unavailable` says why not otherwise) and only
while the inventory is empty (no connection has been made yet from outside the lab's
network). The lab keeps running after PMC quits: ``pmc lab down`` stops it.
"""

from __future__ import annotations

import os

from PySide6.QtWidgets import QMessageBox

from pmc import lab, secrets
from pmc.errors import LabError
from pmc.lab.inventory import inventory_of, secret_names, trust_host_keys

from .error_dialog import show_error
from .translation import tr
from .window_parts import WindowFlows


def lab_unavailable() -> str | None:
    """Why this machine cannot run the rehearsal lab (None: it can)."""
    try:
        lab.check_machine()
    except LabError as exc:
        return str(exc)
    return None


class LabFlows(WindowFlows):
    async def start_lab(self) -> bool:
        """Ask once, then start the lab and show its cluster; False if not started."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            tr("Start the rehearsal lab"),
            tr("Start two simulated Playout servers (main and backup) on this machine? This "
               "takes about a minute. They keep running after PMC quits; `pmc lab down` "
               "stops them."),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self.window,
        )  # fmt: skip
        box.setObjectName("startLabQuestion")
        if await self.dialogs.ask(box) != QMessageBox.StandardButton.Yes:
            return False
        if self.session.inventory.clusters:
            return False
        self.window.statusBar().showMessage(tr("Starting the rehearsal lab…"))
        lab_id = os.environ.get("PMC_LAB_ID") or None
        try:
            running = await self.session.tasks.in_thread(lab.up, 2, "fresh", lab_id=lab_id)
            inventory = inventory_of(running)
            names = secret_names(running)

            def remember() -> None:
                for name, srv in running.servers.items():
                    secrets.set_password(*names[name], srv.root_password)

            await self.session.tasks.in_thread(remember)
            if self.session.pool is not None:
                await self.session.tasks.in_thread(
                    trust_host_keys, running, self.session.pool.known_hosts
                )
            # threads started from now on (the SSH workers among them) reach the lab
            running.enter_operator_namespace()
            await self.session.save(inventory)
        except Exception as exc:
            self.window.statusBar().clearMessage()
            show_error(self.window, tr("starting the rehearsal lab"), exc)
            return False
        self.window.statusBar().showMessage(
            tr("The rehearsal lab runs: cluster {name}").format(name=inventory.clusters[0].name),
            15000,
        )
        self.selection.select(inventory.clusters[0].name)
        return True
