"""Scenes of ``make screenshots`` (:mod:`ui.screenshots`) that stand on their own: the first
run's welcome page, the cluster and server dialogs with a typo, the host-key dialogs, the
export and import dialogs, the switchover and history dialogs, a setup apply that fails and
rolls back (the lab's backup made to refuse one restart of its Playout API), the log viewer
and an error dialog. Each waits on what it shows, never on a clock."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from pathlib import Path

import paramiko
from PySide6.QtWidgets import QMessageBox, QWidget

from pmc.inventory import Inventory
from pmc.lab import LabCluster
from pmc.remote.errors import HostKeyChanged, UnknownHostKey
from pmc.remote.host_keys import fingerprint
from pmc.store import Store
from pmc.workspace import Workspace

from .cluster_dialog import ClusterDialog
from .export_dialog import ExportDialog
from .fleet_scene import fleet_window
from .history_dialog import HistoryDialog
from .host_key_dialog import ChangedHostKeyDialog, NewHostKeyDialog
from .import_dialog import ImportDialog
from .log_viewer import LogViewer
from .main_window import MainWindow
from .server_dialog import ServerDialog
from .session import Session
from .switchover_dialog import SwitchoverDialog
from .tasks import Tasks
from .wizard.setup_wizard import SetupWizard


async def until(condition: Callable[[], object], timeout: float = 300.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.05)


class Camera:
    """Saves numbered PNGs of widgets into ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def save(self, widget: QWidget, name: str) -> None:
        # let Qt lay out and paint through the loop (never processEvents() inside a coroutine)
        await asyncio.sleep(0.3)
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        if not widget.grab().save(str(path)):
            raise OSError(f"cannot write {path}")
        print(f"wrote {path}")


def key_of(line: str) -> paramiko.PKey:
    kind, data = line.split()[:2]
    return paramiko.PKey.from_type_string(kind, base64.b64decode(data))


async def first_run(camera: Camera, folder: Path) -> None:
    """The welcome page of an empty inventory (in ``folder``, a scratch one), at 1280×720."""
    session = Session(Workspace(folder / "first-run.toml", store=Store.in_memory()), Tasks())
    window = MainWindow(session)
    window.resize(1280, 720)
    session.load()
    window.show()
    await camera.save(window, "first-run-welcome")
    window.close()
    session.tasks.shutdown()
    window.deleteLater()


async def fleet_view(camera: Camera, folder: Path) -> None:
    """Ten clusters at a glance, problems first (ui.fleet_scene), at 1280×720."""
    window = fleet_window(folder)
    await camera.save(window, "fleet-view-10-clusters")
    window.close()
    window.session.tasks.shutdown()
    window.deleteLater()


async def inventory_dialogs(camera: Camera, window: MainWindow, inventory: Inventory) -> None:
    """A new cluster named like one that exists; a server with the manual's own typo."""
    cluster_dialog = ClusterDialog(inventory, parent=window)
    cluster_dialog.show()
    cluster_dialog.name.setText(inventory.clusters[0].name)
    await camera.save(cluster_dialog, "cluster-dialog-name-taken")
    cluster_dialog.close()
    server_dialog = ServerDialog(
        inventory.clusters[0], inventory, window.session.tasks, parent=window
    )
    server_dialog.show()
    server_dialog.name.setText("backup2")
    server_dialog.management.setText("192.168.1.018")  # the vendor's manual's typo
    await camera.save(server_dialog, "server-dialog-address-typo")
    server_dialog.close()


async def host_key_dialogs(camera: Camera, window: MainWindow, lab: LabCluster) -> None:
    backup = lab.servers["backup"]
    key = key_of(backup.host_key("ed25519"))
    where = f"backup ({backup.management_address})"
    question = UnknownHostKey(
        server=where, key_type=key.get_name(), fingerprint=fingerprint(key),
        host_id=backup.management_address,
    )  # fmt: skip
    dialog = NewHostKeyDialog(question, window)
    dialog.show()
    await camera.save(dialog, "host-key-new")
    dialog.close()
    other = key_of(backup.host_key("ecdsa"))  # another real key, as a reinstalled server's
    changed = HostKeyChanged(
        server=where, key_type=key.get_name(), old_fingerprint=fingerprint(key),
        new_fingerprint=fingerprint(other), new_key_type=other.get_name(),
    )  # fmt: skip
    warning = ChangedHostKeyDialog(changed, window)
    warning.show()
    await camera.save(warning, "host-key-changed")
    warning.close()


async def wizard_to_apply(wizard: SetupWizard) -> None:
    """Through the pages up to the apply, as the operator clicks."""
    await until(wizard.isVisible, 10, "the wizard")
    wizard.next()
    wizard.next()
    await until(lambda: wizard.plan_page.plan is not None or bool(wizard.plan_page.error),
                120, "the plan")  # fmt: skip
    wizard.next()
    wizard.confirm.understood.setChecked(True)
    wizard.next()


async def failed_apply(camera: Camera, window: MainWindow, lab: LabCluster) -> None:
    """A setup apply whose last restart fails: the failure screen, then what was undone."""
    restore = lab.servers["backup"].fail_next_restart(
        "playout-api.service", "Job for playout-api.service failed"
    )
    try:
        window.commands["setup_redundancy"].trigger()
        wizard = window.setup_flows.wizard
        assert wizard is not None
        await wizard_to_apply(wizard)
        page = wizard.apply_page
        await until(lambda: page.job is not None and page.job.state.is_final, 300, "the apply")
        await camera.save(wizard, "wizard-apply-failed-rolled-back")
        page.outcome.toggle.setChecked(True)
        await camera.save(wizard, "wizard-apply-failed-what-was-rolled-back")
        wizard.reject()  # and it goes (ui.setup_flows)
    finally:
        restore()


async def log_and_error(camera: Camera, window: MainWindow, lab: LabCluster) -> None:
    """Help ▸ Show log filtered on backup, and an error as the operator meets it (a real
    one: backup's SSH port dropped, then Server ▸ Connect)."""
    window.show_log()
    viewer = next(w for w in window.findChildren(LogViewer) if w.isVisible())
    await until(lambda: bool(viewer.all), 30, "the log")
    viewer.filter.setText("backup")
    await camera.save(viewer, "log-viewer-filtered")
    viewer.close()
    window.tree.select("lab", "backup")
    session = window.session
    cluster = session.cluster("lab")
    assert cluster is not None and session.pool is not None
    lab.block("backup", 22, "tcp", mode="drop")  # silent, as a server gone at 3 a.m.
    session.pool.connection(cluster.server("backup"), "lab").drop()  # connect anew
    try:
        window.commands["connect_server"].trigger()
        await until(lambda: _error_box(window) is not None, 120, "the connect error")
    finally:
        lab.unblock("backup", 22, "tcp")
    box = _error_box(window)
    assert box is not None
    await camera.save(box, "error-dialog-unreachable")
    box.close()
    window.tree.select("lab")


def _error_box(window: MainWindow) -> QMessageBox | None:
    found = [b for b in window.findChildren(QMessageBox, "errorDialog") if b.isVisible()]
    return found[-1] if found else None


async def bundle_dialogs(camera: Camera, window: MainWindow, folder: Path) -> None:
    """Export main to a bundle, then preview importing it into backup."""
    session = window.session
    export = ExportDialog(session, "lab", "main", window)
    export.show()
    export.set_path(str(folder / "main.pmcbundle"))
    await camera.save(export, "export-dialog")
    export.start()
    await until(lambda: export.job is not None and export.job.state.is_final, 180, "the export")
    await camera.save(export, "export-dialog-done")
    export.close()
    importer = ImportDialog(session, "lab", "backup", window)
    importer.show()
    importer.set_path(str(folder / "main.pmcbundle"))
    await until(lambda: importer.scan is not None or importer.refusal is not None, 120, "scan")
    importer.start_preview()
    await until(lambda: importer.preview is not None or importer.preview_error is not None,
                180, "the preview")  # fmt: skip
    await camera.save(importer, "import-dialog-preview")
    importer.close()
    for dialog in (export, importer):
        dialog.deleteLater()


async def failover_dialogs(camera: Camera, window: MainWindow) -> None:
    """Cluster ▸ Switch over… with its plan (not applied), and Cluster ▸ History."""
    session = window.session
    cluster = session.cluster("lab")
    assert cluster is not None
    switchover = SwitchoverDialog(session, cluster, window)
    switchover.show()
    await until(lambda: switchover.plan is not None or switchover.details.toPlainText()
                .startswith("No switchover"), 120, "the switchover plan")  # fmt: skip
    await camera.save(switchover, "switchover-dialog-plan")
    switchover.close()
    history = HistoryDialog(session, "lab", window)
    history.show()
    await until(history.refresh_button.isEnabled, 120, "the cluster's history")
    await camera.save(history, "cluster-history")
    history.close()
    for dialog in (switchover, history):
        dialog.deleteLater()
