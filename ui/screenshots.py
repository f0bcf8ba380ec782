"""``make screenshots``: PNGs of the app on a fresh lab cluster, for people to look at.

Writes into ``screenshots/`` (or the folder given), numbered in the order an operator meets
them: the first run's welcome page; ten clusters at a glance (the fleet view); the cluster
and server dialogs with a typo; the main window and its status table at 1280×720; the
host-key dialogs; a setup apply that fails and rolls back; each page of the setup wizard
while it really sets up the combined architecture; the main window afterwards; the export
and import dialogs; the switchover dialog's plan and the cluster's history; the sync panel
(drift, a sync refused over a change on backup, a remediation prompt, the history) and the
tray menu; the status views at 1280×720 with a port blocked; the log viewer and an error
dialog; and dark mode switched while the window is open. Runs offscreen with the Fusion style
at scale 1, quietly (the offscreen platform's notes are dropped); needs root for the lab,
whose id is ``$PMC_LAB_ID`` (``pmc-shots`` by default).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_SCALE_FACTOR"] = "1"

from PySide6.QtWidgets import QApplication

from pmc.lab.demo_setup import LabSetup, lab_app_setup
from pmc.log import configure_logging
from pmc.store import Store
from pmc.workspace import Workspace

from .app import make_app, make_palette, quiet_platform_notes
from .event_loop import PmcEventLoop
from .main_window import MainWindow
from .screenshot_scenes import (
    Camera,
    bundle_dialogs,
    failed_apply,
    failover_dialogs,
    first_run,
    fleet_view,
    host_key_dialogs,
    inventory_dialogs,
    log_and_error,
    until,
)
from .session import Session
from .tasks import Tasks

SCREEN = (1280, 720)


async def refresh(window: MainWindow) -> None:
    await until(lambda: not window.poller.busy, 120, "the status refresh")
    task = window.poller.refresh()
    if task is not None:
        await task


async def shoot(setup: LabSetup, folder: Path, scratch: Path) -> None:
    camera = Camera(folder)
    await first_run(camera, scratch)
    await fleet_view(camera, scratch)
    tasks = Tasks()
    workspace = Workspace(setup.inventory_path, pool=setup.pool(), store=Store.in_memory())
    session = Session(workspace, tasks)
    window = MainWindow(session)
    errors: list[str] = []

    def failed(what: str, exc: BaseException) -> None:
        errors.append(f"{what}: {exc!r}")
        print(f"error while {what}: {exc!r}", file=sys.stderr)

    tasks.on_error = failed
    window.resize(*SCREEN)
    session.load()
    window.show()
    window.tree.select("lab")
    await inventory_dialogs(camera, window, session.inventory)
    await refresh(window)
    await camera.save(window, "main-window-1280x720")
    await camera.save(window.status, "status-table")
    await host_key_dialogs(camera, window, setup.lab)
    await failed_apply(camera, window, setup.lab)

    window.commands["setup_redundancy"].trigger()
    wizard = window.setup_flows.wizard
    assert wizard is not None
    await until(wizard.isVisible, 10, "the wizard")
    await camera.save(wizard, "wizard-1-architecture")
    wizard.next()
    await camera.save(wizard, "wizard-2-options")
    wizard.next()
    await camera.save(wizard, "wizard-3-planning")
    await until(lambda: wizard.plan_page.plan is not None or bool(wizard.plan_page.error),
                120, "the plan")  # fmt: skip
    tree = wizard.plan_page.tree
    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        for j in range(top.childCount() if top is not None else 0):
            step = top.child(j) if top is not None else None
            if step is not None and "spoolers.json" in step.text(0):
                tree.setCurrentItem(step)
    await camera.save(wizard, "wizard-3-plan")
    wizard.next()
    wizard.confirm.understood.setChecked(True)
    await camera.save(wizard, "wizard-4-confirm")
    wizard.next()
    page = wizard.apply_page
    await until(lambda: page.progress.maximum() > 0 and page.progress.value() > 0, 120,
                "the first step")  # fmt: skip
    await camera.save(wizard, "wizard-5-applying")
    await until(lambda: page.job is not None and page.job.state.is_final, 300, "the apply")
    await camera.save(wizard, "wizard-5-applied")
    if page.succeeded:
        wizard.next()
        await until(lambda: wizard.verify_page.report is not None, 180, "verify")
        await camera.save(wizard, "wizard-6-verify")
    wizard.hide()
    await refresh(window)
    window.jobs_dock.raise_()
    await camera.save(window, "main-window-after-setup")
    await bundle_dialogs(camera, window, scratch)
    await failover_dialogs(camera, window)
    await shoot_sync(setup, window, camera)
    await status_views(setup, window, camera)
    await log_and_error(camera, window, setup.lab)
    await dark_mode_switched(window, camera)
    window.poller.stop()
    window.close()
    if window.runner is not None:
        await window.runner.close()
    if session.pool is not None:
        await session.pool.close()
    tasks.shutdown()
    for widget in (wizard, window):
        widget.deleteLater()
    await asyncio.sleep(0.1)
    if errors:
        raise RuntimeError("errors while taking screenshots: " + "; ".join(errors))


async def status_views(setup: LabSetup, window: MainWindow, camera: Camera) -> None:
    """The status table, diagram, tree and status bar at 1280×720 with problems: UDP 161
    silently dropped and HTTP 80 refused on backup, its Playout API stopped."""
    lab = setup.lab
    window.resize(*SCREEN)
    window.status_dock.raise_()
    drift, window.poller.drift = window.poller.drift, None  # liveness probes only
    lab.block("backup", 80, "tcp")
    lab.block("backup", 161, "udp", mode="drop")
    lab.servers["backup"].systemctl("stop", "playout-api.service")
    try:
        await refresh(window)
        await camera.save(window, "status-views-1280x720-problems")
        await camera.save(window.status, "status-table-problems")
    finally:
        lab.unblock("backup", 80, "tcp")
        lab.unblock("backup", 161, "udp")
        lab.servers["backup"].systemctl("start", "playout-api.service")
        window.poller.drift = drift
    await refresh(window)


async def dark_mode_switched(window: MainWindow, camera: Camera) -> None:
    """The OS switches to dark mode while the window is open (what ui.app.apply_palette
    does when the colour scheme changes)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setPalette(make_palette(dark=True))
    app.setStyleSheet(app.styleSheet())
    await refresh(window)
    await camera.save(window, "main-window-dark-switched-while-open")
    window.sync_flows.show_sync_panel()
    await camera.save(window, "sync-panel-dark")


async def shoot_sync(setup: LabSetup, window: MainWindow, camera: Camera) -> None:
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
    await camera.save(window, "sync-panel-drift")
    await until(lambda: not window.poller.busy, 60, "the status refresh")
    task = window.poller.refresh(drift=True)
    if task is not None:
        await task
    window.status_dock.raise_()
    await camera.save(window.status, "status-table-drift")
    await synchronize(window, camera)
    await refresh(window)  # the drift compared again after the sync
    await camera.save(window, "sync-panel-synchronized")
    if name:  # changed on backup since that sync: the next one is refused until ticked
        backup.run(["sh", "-c", f"echo changed-again >> {path}"], check=True)
        await synchronize(window, camera)
    backup.run(["rm", "-f", "/opt/playout/.failover-peer"], check=True)
    panel.engine.setCurrentIndex(panel.engine.findData("playout"))
    job = window.sync_flows.synchronize_now()
    assert job is not None
    await until(lambda: getattr(panel, "last_prompt", None) is not None or job.state.is_final,
                180, "the remediation prompt")  # fmt: skip
    if not job.state.is_final:
        await camera.save(window, "sync-remediation-prompt")
        panel.last_prompt.apply_button.click()
        await until(lambda: job.state.is_final, 180, "copy config after the fix")
        panel.tabs.setCurrentWidget(panel.history)
        await camera.save(window.sync_dock, "sync-history")
    panel.engine.setCurrentIndex(panel.engine.findData("delta"))
    menu = window.tray.menu
    menu.popup(window.mapToGlobal(window.rect().center()))
    await camera.save(menu, "tray-menu")
    menu.hide()


async def synchronize(window: MainWindow, camera: Camera) -> None:
    """A delta sync from the panel; refused over changes on backup, the prompt is shot, its
    checkbox ticked and the sync that discards them run."""
    panel = window.sync
    assert panel is not None
    panel.last_refusal = None
    job = window.sync_flows.synchronize_now()
    assert job is not None
    await until(lambda: job.state.is_final, 180, "the delta sync")
    await until(lambda: panel.result.text().startswith(("✔", "✖")), 10, "the sync result")
    refusal = getattr(panel, "last_refusal", None)  # set by the job's last event
    if refusal is not None:
        await camera.save(window, "sync-refused-newer-changes")
        refusal.discard.setChecked(True)
        refusal.overwrite.click()
        discarding = panel.job
        assert discarding is not None and discarding is not job
        await until(lambda: discarding.state.is_final, 180, "the sync discarding the changes")
        await until(lambda: panel.result.text().startswith(("✔", "✖")), 10, "its result")


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "screenshots").absolute()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("[0-9][0-9]-*.png"):
        old.unlink()  # the numbering changes with the list: no stale picture left behind
    lab_id = os.environ.get("PMC_LAB_ID") or "pmc-shots"
    with tempfile.TemporaryDirectory(prefix="pmc-shots-") as tmp:
        os.environ.setdefault("PMC_CONFIG_DIR", str(Path(tmp) / "config"))
        os.environ.setdefault("PMC_DATA_DIR", str(Path(tmp) / "data"))
        os.environ.setdefault("PMC_LOG_DIR", str(Path(tmp) / "log"))
        configure_logging(stderr=False)  # as the app does: Help ▸ Show log reads it
        with lab_app_setup(Path(tmp), lab_id=lab_id) as setup:
            app = make_app()
            quiet_platform_notes()
            app.setQuitOnLastWindowClosed(False)  # windows come and go while shooting
            loop = PmcEventLoop(app)
            asyncio.set_event_loop(loop)
            with loop:
                loop.run_until_complete(shoot(setup, folder, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
