"""Server ▸ Settings ▸ Export… and Import… against the rehearsal lab, driven like an operator:
export main (server preselected from the tree, a file chosen in the file chooser) as a job with
progress; then on backup choose a file that is no bundle (refused with its reason), choose the
export, preview it (tables before/after, the service and the file added on main, config
diffs), adapt the addresses, confirm and import; the result names the backup and backup holds
main's configuration. Screenshots of both dialogs go to ``$PMC_SCREENSHOTS`` when it is set.

Passwords are in the real Secret Service, host keys pre-trusted from the lab's own files, the
test thread in the operator's network namespace meanwhile."""

from __future__ import annotations

import base64
import html
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import psycopg
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWidget

from pmc import secrets
from pmc.bundle.import_backup import default_backup_dir
from pmc.inventory import Architecture, AuthMethod, Cluster, Inventory, Role, Server
from pmc.inventory_file import save_inventory
from pmc.jobs import JobState
from pmc.lab import LabCluster
from pmc.lab.playout import CONFIG_TABLES
from pmc.lab.playout.files import spoolers_listing
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool
from pmc.store import Store
from tests.bundle.test_lab_bundle import digest
from tests.ui.helpers import open_window
from tests.ui.lab_session import operator_namespace
from ui.export_dialog import ExportDialog
from ui.import_dialog import ImportDialog

pytestmark = [pytest.mark.lab, pytest.mark.gui, pytest.mark.slow, pytest.mark.timeout(600)]

JOB_TIMEOUT = 180_000


def cluster_of(lab: LabCluster) -> Cluster:
    servers = tuple(
        Server(s.name, s.management_address, s.redundancy_address, Role(s.role),
               auth=AuthMethod.PASSWORD)
        for s in lab.servers.values()
        if s.role in ("main", "backup")
    )  # fmt: skip
    return Cluster("lab", Architecture.COMBINED, servers)


def shoot(widget: QWidget, name: str) -> None:
    folder = os.environ.get("PMC_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(Path(folder) / f"{name}.png"))


@pytest.fixture
def bundle_window(  # noqa: PLR0917 (fixtures)
    qtbot: Any, loop: Any, secret_service: Any, isolated_dirs: Any, fresh_lab: LabCluster,
    tmp_path: Path,
) -> Iterator[Any]:  # fmt: skip
    lab = fresh_lab
    cluster = cluster_of(lab)
    inventory = tmp_path / "inventory.toml"
    save_inventory(Inventory((cluster,)), inventory)
    for server in cluster.servers:
        secrets.set_password(cluster.name, server.name, lab.servers[server.name].root_password)
    known = KnownHosts(tmp_path / "known_hosts")
    for srv in lab.servers.values():
        kind, data = srv.host_key().split()[:2]
        known.add(
            srv.management_address, paramiko.PKey.from_type_string(kind, base64.b64decode(data))
        )
    try:
        with operator_namespace(lab):
            pool = ConnectionPool(known_hosts=known)
            window = open_window(qtbot, inventory, pool=pool, store=Store.in_memory())
            runner, tasks = window.runner, window.session.tasks
            yield window, lab
            if runner is not None:
                closing = tasks.spawn(runner.close())
                qtbot.waitUntil(closing.done, timeout=60000)
            closing = tasks.spawn(pool.close())
            qtbot.waitUntil(closing.done, timeout=30000)
    finally:
        for server in cluster.servers:
            secrets.forget_server(cluster.name, server.name)
        lab.reset()


def _choose_file(qtbot: Any, dialog: Any, path: Path) -> None:
    qtbot.mouseClick(dialog.findChild(QWidget, dialog.objectName().replace("Dialog", "Browse")),
                     Qt.MouseButton.LeftButton)  # fmt: skip
    chooser = dialog.chooser
    qtbot.waitExposed(chooser)
    chooser.selectFile(str(path))
    chooser.accept()


def _job_done(qtbot: Any, dialog: Any) -> None:
    qtbot.waitUntil(lambda: dialog.job is not None and dialog.job.state.is_final,
                    timeout=JOB_TIMEOUT)  # fmt: skip


def test_export_then_import_like_an_operator(
    qtbot: Any, bundle_window: Any, tmp_path: Path
) -> None:
    window, lab = bundle_window
    main, backup = lab.servers["main"], lab.servers["backup"]
    # something on main that backup does not have: a service and a carousel file
    with psycopg.connect(main.postgres_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO dvb_services (service_id, name, provider) "
                     "VALUES (4242, 'Operator Test TV', 'PMC')")  # fmt: skip
    main.path("/opt/playout/data/carousel/new-app.html").write_text("<html>new</html>\n")
    # main's API config as the manual lays it out for a main/backup pair
    main.path("/opt/playout/api/config/spoolers.json").write_text(
        spoolers_listing([("main", main.management_address, "master"),
                          ("backup", backup.management_address, "spooler")])
    )  # fmt: skip
    main.path("/opt/playout/api/config/replicate.conf").write_text(
        f"{main.redundancy_address}\n{backup.redundancy_address}\n"
    )

    # --- export main
    window.tree.select("lab", "main")
    window.commands["export_settings"].trigger()
    dialog = window.dialogs.last
    assert isinstance(dialog, ExportDialog)
    qtbot.waitExposed(dialog)
    assert dialog.server.currentText().startswith("lab / main")
    assert re.fullmatch(r"main-\d{8}T\d{6}Z\.pmcbundle", Path(dialog.path.text()).name)
    assert not dialog.with_epg.isChecked() and not dialog.no_data.isChecked()
    bundle = tmp_path / "main-export.pmcbundle"
    _choose_file(qtbot, dialog, bundle)
    assert dialog.path.text() == str(bundle)
    shoot(dialog, "export-dialog")
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.job is not None and dialog.job in window.session.jobs
    _job_done(qtbot, dialog)
    assert dialog.job.state is JobState.SUCCEEDED, dialog.outcome.text()
    assert bundle.is_file() and not list(tmp_path.glob(".pmc-*"))
    progress = [e for e in dialog.job.events if e.kind == "progress"]
    assert progress and "/s" in progress[-1].message
    assert dialog.progress.bar.value() == dialog.progress.bar.maximum()
    assert "Exported main" in dialog.outcome.text()
    shoot(dialog, "export-dialog-done")
    dialog.close()

    # --- import into backup: first a file that is no bundle, then the export
    window.tree.select("lab", "backup")
    window.commands["import_settings"].trigger()
    dialog = window.dialogs.last
    assert isinstance(dialog, ImportDialog)
    qtbot.waitExposed(dialog)
    assert dialog.server.currentText().startswith("lab / backup")
    junk = tmp_path / "holiday-photos.pmcbundle"
    junk.write_bytes(b"this is not a bundle\n" * 100)
    _choose_file(qtbot, dialog, junk)
    qtbot.waitUntil(lambda: dialog.refusal is not None, timeout=30000)
    assert "refused" in dialog.bundle_state.text()
    assert not dialog.preview_button.isEnabled() and not dialog.import_button.isEnabled()
    shoot(dialog, "import-dialog-refused")
    _choose_file(qtbot, dialog, bundle)
    qtbot.waitUntil(lambda: dialog.scan is not None, timeout=60000)
    assert "valid bundle" in dialog.bundle_state.text()
    assert "source: lab/main" in dialog.summary.toPlainText()
    assert dialog.parts["database"].isChecked() and not dialog.parts["epg"].isEnabled()
    qtbot.mouseClick(dialog.adapt, Qt.MouseButton.LeftButton)
    assert dialog.adapt.isChecked()
    assert not dialog.confirm.isEnabled()  # no confirmation before a preview
    qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.preview is not None or dialog.preview_error is not None,
                    timeout=60000)  # fmt: skip
    assert dialog.preview is not None, dialog.preview_error
    tables = {dialog.tables.topLevelItem(i).text(0): dialog.tables.topLevelItem(i)
              for i in range(dialog.tables.topLevelItemCount())}  # fmt: skip
    assert set(tables) >= {"dvb_services", "networks"}
    rows = [" ".join(dialog.rows.topLevelItem(i).text(c) for c in range(3))
            for i in range(dialog.rows.topLevelItemCount())]  # fmt: skip
    assert any("added" in r and "Operator Test TV" in r for r in rows), rows
    files = [" ".join(dialog.files.topLevelItem(i).text(c) for c in range(3))
             for i in range(dialog.files.topLevelItemCount())]  # fmt: skip
    assert "carousel added new-app.html" in files
    config = dialog.config.toPlainText()
    assert "spoolers.json: adapted" in config and "+++ bundle/spoolers.json" in config
    dialog.tabs.setCurrentIndex(0)
    shoot(dialog, "import-dialog-preview-tables")
    dialog.tabs.setCurrentIndex(1)
    shoot(dialog, "import-dialog-preview-services")
    dialog.tabs.setCurrentIndex(3)
    shoot(dialog, "import-dialog-preview-config")

    # confirm (naming the server, its address and where the automatic backup goes), then import
    promise = html.unescape(re.sub(r"<[^>]+>", "", dialog.confirm_text.text()))
    assert promise.startswith(
        f"Replace the chosen parts of lab / backup ({backup.management_address}) with the "
        "bundle's. PMC first exports an automatic backup of everything it replaces to "
        f"{default_backup_dir()} and rolls back to it if the import fails."
    ), promise
    assert not dialog.import_button.isEnabled()
    box = dialog.confirm
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))
    assert dialog.import_button.isEnabled()
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert dialog.job is not None and dialog.job in window.session.jobs
    _job_done(qtbot, dialog)
    assert dialog.job.state is JobState.SUCCEEDED, dialog.outcome.text()
    result = dialog.job.result
    assert result.backup is not None and result.backup.is_file()
    assert result.backup.parent == default_backup_dir()  # where the confirmation said
    assert str(result.backup) in dialog.outcome.text()
    assert digest(main.postgres_dsn, CONFIG_TABLES) == digest(backup.postgres_dsn, CONFIG_TABLES)
    assert backup.path("/opt/playout/data/carousel/new-app.html").is_file()
    spoolers = backup.path("/opt/playout/api/config/spoolers.json").read_text()
    assert spoolers == spoolers_listing([("backup", backup.management_address, "master"),
                                         ("main", main.management_address, "spooler")])  # fmt: skip
    replicate = backup.path("/opt/playout/api/config/replicate.conf").read_text()
    assert replicate == f"{backup.redundancy_address}\n{main.redundancy_address}\n"
    shoot(dialog, "import-dialog-done")
    dialog.close()
