"""``make screenshots``: PNGs of the app on a fresh lab cluster, for people to look at.

Writes into ``screenshots/`` (or the folder given): the main window with the lab cluster,
the status table, the host-key dialogs, each page of the setup wizard while it really sets
up the combined architecture, the main window afterwards, and the same in the dark palette.
Runs offscreen with the Fusion style at scale 1; needs root for the lab.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_SCALE_FACTOR"] = "1"

import paramiko
from PySide6.QtWidgets import QApplication, QWidget

from pmc.remote.errors import HostKeyChanged, UnknownHostKey
from pmc.remote.host_keys import fingerprint
from pmc.store import Store
from pmc.workspace import Workspace

from .app import make_app, make_palette
from .event_loop import PmcEventLoop
from .host_key_dialog import ChangedHostKeyDialog, NewHostKeyDialog
from .lab_session import LabSetup, lab_app_setup
from .main_window import MainWindow
from .session import Session
from .tasks import Tasks


async def until(condition: Callable[[], object], timeout: float = 300.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.05)


async def save(widget: QWidget, folder: Path, name: str) -> None:
    # let Qt lay out and paint through the loop (never processEvents() inside a coroutine)
    await asyncio.sleep(0.3)
    path = folder / f"{name}.png"
    if not widget.grab().save(str(path)):
        raise OSError(f"cannot write {path}")
    print(f"wrote {path}")


def _key_of(line: str) -> paramiko.PKey:
    kind, data = line.split()[:2]
    return paramiko.PKey.from_type_string(kind, base64.b64decode(data))


async def shoot(setup: LabSetup, folder: Path) -> None:
    tasks = Tasks()
    workspace = Workspace(setup.inventory_path, pool=setup.pool(), store=Store.in_memory())
    session = Session(workspace, tasks)
    window = MainWindow(session)
    errors: list[str] = []

    def failed(what: str, exc: BaseException) -> None:
        errors.append(f"{what}: {exc!r}")
        print(f"error while {what}: {exc!r}", file=sys.stderr)

    tasks.on_error = failed
    window.resize(1360, 860)
    session.load()
    window.show()
    window.tree.select("lab")
    task = window.poller.refresh()
    if task is not None:
        await task
    await save(window, folder, "01-main-window")
    await save(window.status, folder, "02-status-table")

    backup = setup.lab.servers["backup"]
    key = _key_of(backup.host_key("ed25519"))
    question = UnknownHostKey(
        server=f"backup ({backup.management_address})", key_type=key.get_name(),
        fingerprint=fingerprint(key), host_id=backup.management_address,
    )  # fmt: skip
    dialog = NewHostKeyDialog(question, window)
    dialog.show()
    await save(dialog, folder, "03-host-key-new")
    dialog.close()
    changed = HostKeyChanged(
        server=f"backup ({backup.management_address})", key_type=key.get_name(),
        old_fingerprint=fingerprint(key),
        new_fingerprint="SHA256:" + "q" * 43,  # an illustrative changed fingerprint
    )  # fmt: skip
    warning = ChangedHostKeyDialog(changed, window)
    warning.show()
    await save(warning, folder, "04-host-key-changed")
    warning.close()

    window.commands["setup_redundancy"].trigger()
    wizard = window.setup_flows.wizard
    assert wizard is not None
    await until(wizard.isVisible, 10, "the wizard")
    await save(wizard, folder, "05-wizard-1-architecture")
    wizard.next()
    await save(wizard, folder, "06-wizard-2-options")
    wizard.next()
    await save(wizard, folder, "07-wizard-3-planning")
    await until(lambda: wizard.plan_page.plan is not None or bool(wizard.plan_page.error),
                120, "the plan")  # fmt: skip
    tree = wizard.plan_page.tree
    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        if top is None:
            continue
        for j in range(top.childCount()):
            step = top.child(j)
            if step is not None and "spoolers.json" in step.text(0):
                tree.setCurrentItem(step)
                break
    await save(wizard, folder, "08-wizard-3-plan")
    wizard.next()
    wizard.confirm.understood.setChecked(True)
    await save(wizard, folder, "09-wizard-4-confirm")
    wizard.next()
    await asyncio.sleep(1.0)
    await save(wizard, folder, "10-wizard-5-applying")
    page = wizard.apply_page
    await until(lambda: page.job is not None and page.job.state.is_final, 300, "the apply")
    await save(wizard, folder, "11-wizard-5-applied")
    if page.succeeded:
        wizard.next()
        await until(lambda: wizard.verify_page.report is not None, 180, "verify")
        await save(wizard, folder, "12-wizard-6-verify")
    wizard.hide()
    task = window.poller.refresh()
    if task is not None:
        await task
    window.jobs_dock.raise_()
    await save(window, folder, "13-main-window-after-setup")
    await shoot_sync(setup, window, folder)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    window.poller.stop()
    window.close()
    # the dark palette, as PMC starts on a desktop in dark mode
    app.setPalette(make_palette(dark=True))
    app.setStyleSheet(app.styleSheet())
    dark = MainWindow(session)
    dark.resize(1360, 860)
    dark.show()
    dark.tree.select("lab")
    task = dark.poller.refresh()
    if task is not None:
        await task
    await save(dark, folder, "14-main-window-dark")
    dark.poller.stop()
    dark.close()
    for shown in (window, dark):
        if shown.runner is not None:
            await shown.runner.close()
    await setup_pool_close(session)
    tasks.shutdown()
    for widget in (wizard, window, dark):
        widget.deleteLater()
    await asyncio.sleep(0.1)
    if errors:
        raise RuntimeError("errors while taking screenshots: " + "; ".join(errors))


async def shoot_sync(setup: LabSetup, window: MainWindow, folder: Path) -> None:
    """The sync panel with a drift report, the drift column, a sync, a remediation prompt
    (copy config's 127, produced on the lab) and the tray menu."""
    panel, runner = window.sync, window.runner
    assert panel is not None and runner is not None and window.sync_dock is not None
    main, backup = setup.lab.servers["main"], setup.lab.servers["backup"]
    find = "cd /opt/playout/data/carousel && find . -type f | sort | head -1"
    name = main.run(["sh", "-c", find]).stdout.strip()
    if name:
        path = f"/opt/playout/data/carousel/{name.removeprefix('./')}"
        backup.run(["sh", "-c", f"echo changed-on-backup >> {path}"], check=True)
    window.sync_flows.show_sync_panel()
    panel.check_drift()
    await until(lambda: not panel.drift.toPlainText().startswith("Comparing"), 120, "drift")
    await save(window, folder, "15-sync-panel-drift")
    await until(lambda: not window.poller.busy, 60, "the status refresh")
    task = window.poller.refresh(drift=True)
    if task is not None:
        await task
    window.status_dock.raise_()
    await save(window.status, folder, "16-status-table-drift")
    delta_job = window.sync_flows.synchronize_now()
    assert delta_job is not None
    await until(lambda: delta_job.state.is_final, 180, "the delta sync")
    await until(lambda: panel.result.text().startswith(("✔", "✖")), 10, "the sync result")
    await save(window, folder, "17-sync-panel-synchronised")
    backup.run(["rm", "-f", "/opt/playout/.failover-peer"], check=True)
    panel.engine.setCurrentIndex(panel.engine.findData("playout"))
    job = window.sync_flows.synchronize_now()
    assert job is not None
    await until(lambda: getattr(panel, "last_prompt", None) is not None or job.state.is_final,
                180, "the remediation prompt")  # fmt: skip
    if not job.state.is_final:
        await save(window, folder, "18-sync-remediation-prompt")
        panel.last_prompt.apply_button.click()
        await until(lambda: job.state.is_final, 180, "copy config after the fix")
        panel.tabs.setCurrentWidget(panel.history)
        await save(window.sync_dock, folder, "19-sync-history")
    panel.engine.setCurrentIndex(panel.engine.findData("delta"))
    menu = window.tray.menu
    menu.popup(window.mapToGlobal(window.rect().center()))
    await save(menu, folder, "20-tray-menu")
    menu.hide()


async def setup_pool_close(session: Session) -> None:
    if session.pool is not None:
        await session.pool.close()


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "screenshots").absolute()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pmc-shots-") as tmp:
        os.environ.setdefault("PMC_CONFIG_DIR", str(Path(tmp) / "config"))
        os.environ.setdefault("PMC_DATA_DIR", str(Path(tmp) / "data"))
        with lab_app_setup(Path(tmp), lab_id="pmc-shots") as setup:
            app = make_app()
            app.setQuitOnLastWindowClosed(False)  # windows come and go while shooting
            loop = PmcEventLoop(app)
            asyncio.set_event_loop(loop)
            with loop:
                loop.run_until_complete(shoot(setup, folder))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
