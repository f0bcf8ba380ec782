"""The command line and the GUI start every setup, export, import and sync job through the same
functions of ``pmc/`` (:mod:`pmc.setup.jobs`, :mod:`pmc.bundle.jobs`,
:meth:`pmc.sync.runner.SyncRunner.submit`): each action is replaced by a recorder, then each
front end is run — ``pmc.cli.main`` and the GUI's own path (the wizard's pages, the dialogs,
the window's commands) — and both must have called it.

No server is needed: the recorders hand back jobs that end at once; the cluster lock (it
connects) is set aside for the command line."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pmc.bundle import jobs as bundle_jobs
from pmc.bundle.preview import Preview
from pmc.cli import common as cli_common
from pmc.cli import main
from pmc.errors import PmcError
from pmc.jobs import Job, JobContext
from pmc.plan import Plan, Step, StepKind
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool
from pmc.setup import jobs as setup_jobs
from pmc.setup.verify import VerifyReport
from pmc.sync.runner import SyncRunner
from tests.bundle.test_archive import good_bundle
from tests.ui.helpers import open_window
from ui.export_dialog import ExportDialog
from ui.import_dialog import ImportDialog
from ui.wizard.setup_wizard import SetupWizard

pytestmark = pytest.mark.gui

PLAN = Plan("studio", "combined", (Step(StepKind.RUN, "main", "run true", "a test"),))
STAND_IN = PmcError("a stand-in job")  # what the export and import stand-ins end with


class Calls:
    """Replaces each action by a recorder of which front end called it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: dict[str, list[str]] = {}
        self.front = ""
        for module, name, result in (
            (setup_jobs, "apply_job", "applied"),
            (setup_jobs, "verify_job", VerifyReport("studio", "combined")),
            (bundle_jobs, "export_job", STAND_IN),
            (bundle_jobs, "import_job", STAND_IN),
        ):
            monkeypatch.setattr(module, name, self._job(name, result))
        # what the wizard and the import dialog await, and the CLI's plan and preview jobs run

        async def plan_setup(*_args: object) -> Plan:
            self.note("plan_setup")
            return PLAN

        async def preview(*args: Any) -> Preview:
            self.note("preview")
            return Preview(args[3], "studio/backup")

        monkeypatch.setattr(setup_jobs, "plan_setup", plan_setup)
        monkeypatch.setattr(bundle_jobs, "preview", preview)

        def submit(_runner: SyncRunner, _request: object) -> Job[object]:
            job = self._job("submit", "synchronised")()
            job.start()
            return job

        monkeypatch.setattr(SyncRunner, "submit", submit)

    def note(self, action: str) -> None:
        self.seen.setdefault(action, []).append(self.front)

    def _job(self, action: str, result: object) -> Callable[..., Job[Any]]:
        def make(*_args: object, **_kwargs: object) -> Job[Any]:
            self.note(action)

            async def body(_ctx: JobContext) -> object:
                if isinstance(result, Exception):
                    raise result
                return result

            return Job("setup", action, body)

        return make


@contextlib.asynccontextmanager
async def _no_lock(*_args: object, **_kwargs: object) -> AsyncIterator[None]:
    yield


@pytest.mark.usefixtures("loop", "memory_keyring")
def test_cli_and_gui_start_each_job_through_the_same_function(
    qtbot: Any, inventory_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = Calls(monkeypatch)
    bundle = tmp_path / "b.pmcbundle"
    bundle.write_bytes(good_bundle())

    # the command line: each command in its own event loop, as `pmc` runs it
    monkeypatch.setattr(cli_common, "cluster_lock", _no_lock)
    calls.front = "cli"
    inv = ["--inventory", str(inventory_file)]
    for code, argv in (
        (0, ["setup", "plan", "--cluster", "studio"]),
        (0, ["setup", "apply", "--cluster", "studio", "--yes"]),
        (0, ["setup", "verify", "--cluster", "studio"]),
        (1, ["export", "studio/main", "-o", str(tmp_path / "out.pmcbundle")]),
        (1, ["import", str(bundle), "studio/backup", "--yes"]),
        (0, ["import", str(bundle), "studio/backup", "--dry-run"]),
        (0, ["sync", "run", "--cluster", "studio"]),
    ):
        with ThreadPoolExecutor(1) as thread:  # the GUI's loop is this thread's
            assert thread.submit(main, [*inv, *argv]).result() == code, argv

    # the GUI: the wizard's pages, the dialogs, the window's commands
    calls.front = "gui"
    window = open_window(
        qtbot, inventory_file, pool=ConnectionPool(known_hosts=KnownHosts(tmp_path / "kh"))
    )
    window.poller.stop()
    session = window.session
    cluster = session.inventory.cluster("studio")
    window.tree.setCurrentItem(window.tree.topLevelItem(0))

    wizard = SetupWizard(session, cluster)
    qtbot.addWidget(wizard)
    assert wizard.plan_page.make_plan is not None
    planned = session.tasks.spawn(wizard.plan_page.make_plan())
    qtbot.waitUntil(planned.done)
    wizard.plan_page.plan = PLAN
    wizard.apply_page.initializePage()
    wizard.verify_page.initializePage()
    window.commands["verify"].trigger()

    export = ExportDialog(session, "studio", "main")
    qtbot.addWidget(export)
    export.path.setText(str(tmp_path / "gui.pmcbundle"))
    export.start()

    dialog = ImportDialog(session, "studio", "backup")
    qtbot.addWidget(dialog)
    dialog.set_path(str(bundle))
    qtbot.waitUntil(dialog.preview_button.isEnabled)
    dialog.preview_button.click()
    qtbot.waitUntil(dialog.confirm.isEnabled)
    dialog.confirm.setChecked(True)
    dialog.import_button.click()

    window.commands["synchronize"].trigger()
    qtbot.waitUntil(lambda: "gui" in calls.seen.get("submit", ()), timeout=10_000)
    qtbot.waitUntil(lambda: all(j.state.is_final for j in session.jobs), timeout=10_000)

    expected = {
        "plan_setup": ["cli", "cli", "gui"],
        "apply_job": ["cli", "gui"],
        "verify_job": ["cli", "gui", "gui"],
        "export_job": ["cli", "gui"],
        "preview": ["cli", "cli", "gui"],
        "import_job": ["cli", "gui"],
        "submit": ["cli", "gui"],
    }
    assert calls.seen == expected
