"""The choice to leave the data folders out of an import's automatic backup reaches the one
import action (:func:`pmc.bundle.jobs.import_job`) the same way from ``pmc import
--backup-without-data`` and from the Import dialog's checkbox; left alone, both take the full
backup; the result each shows says what the backup holds. The action is replaced by a
recorder of the options it was given (as in ``test_one_action_layer.py``) whose result is the
real one's; no server is needed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pmc.bundle import jobs as bundle_jobs
from pmc.bundle.importer import ImportOptions, ImportResult
from pmc.bundle.preview import Preview
from pmc.cli import common as cli_common
from pmc.cli import main
from pmc.jobs import Job, JobContext
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool
from tests.bundle.test_archive import good_bundle
from tests.ui.helpers import open_window
from ui.import_dialog import ImportDialog

pytestmark = pytest.mark.gui


class Recorder:
    """Stands in for the import action: keeps the options of each call."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.options: list[ImportOptions] = []
        monkeypatch.setattr(bundle_jobs, "import_job", self.import_job)

        async def preview(*args: Any) -> Preview:
            return Preview(args[3], "studio/backup")

        monkeypatch.setattr(bundle_jobs, "preview", preview)

    def import_job(self, *args: Any) -> Job[Any]:
        scan, options = args[3], args[4]
        self.options.append(options)

        async def body(ctx: JobContext) -> ImportResult:
            result = ImportResult(
                "studio/backup", scan.path, Path("/b/before.pmcbundle"), ("data",),
                backup_without_data=options.backup_without_data,
            )  # fmt: skip
            ctx.log(str(result))  # as the real action does
            return result

        return Job("import", "a stand-in import", body)


@contextlib.asynccontextmanager
async def _no_lock(*_args: object, **_kwargs: object) -> AsyncIterator[None]:
    yield


@pytest.mark.usefixtures("loop", "memory_keyring")
def test_the_command_line_and_the_dialog_pass_the_backup_choice_to_the_one_import_action(
    qtbot: Any,
    inventory_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    recorder = Recorder(monkeypatch)
    bundle = tmp_path / "b.pmcbundle"
    bundle.write_bytes(good_bundle())  # it has the data part

    monkeypatch.setattr(cli_common, "cluster_lock", _no_lock)
    inv = ["--inventory", str(inventory_file)]
    for extra in ([], ["--backup-without-data"]):
        argv = [*inv, "import", str(bundle), "studio/backup", "--yes", *extra]
        capsys.readouterr()
        with ThreadPoolExecutor(1) as thread:  # `pmc` runs in its own event loop
            assert thread.submit(main, argv).result() == 0
        printed = capsys.readouterr()
        assert ("without the data folders" in printed.out + printed.err) is bool(extra)
    assert [o.backup_without_data for o in recorder.options] == [False, True]
    recorder.options.clear()

    pool = ConnectionPool(known_hosts=KnownHosts(tmp_path / "kh"))  # a workspace that connects
    window = open_window(qtbot, inventory_file, pool=pool)
    window.poller.stop()
    for leave_out in (False, True):
        dialog = ImportDialog(window.session, "studio", "backup")
        qtbot.addWidget(dialog)
        box = dialog.choices.backup_without_data
        assert not box.isEnabled()  # no bundle chosen: no data part to leave out
        dialog.set_path(str(bundle))
        qtbot.waitUntil(dialog.preview_button.isEnabled)
        assert box.isEnabled() and not box.isChecked()  # the full backup by default
        assert "carousel, av or ts" in box.toolTip()
        box.setChecked(leave_out)
        said = dialog.confirm_text.text()
        assert ("but the data folders" in said) is leave_out
        dialog.preview_button.click()
        qtbot.waitUntil(dialog.confirm.isEnabled)
        dialog.confirm.setChecked(True)
        dialog.import_button.click()
        qtbot.waitUntil(lambda d=dialog: d.job is not None and d.job.state.is_final)
        assert dialog.outcome.outcome is not None and dialog.outcome.outcome.ok
        assert ("without the data folders" in dialog.outcome.cause.text()) is leave_out
    assert [o.backup_without_data for o in recorder.options] == [False, True]

    # without the data part there is no data to leave out: the choice is off and greyed
    dialog = ImportDialog(window.session, "studio", "backup")
    qtbot.addWidget(dialog)
    dialog.set_path(str(bundle))
    qtbot.waitUntil(dialog.preview_button.isEnabled)
    dialog.choices.backup_without_data.setChecked(True)
    dialog.choices.parts["data"].setChecked(False)
    assert not dialog.choices.backup_without_data.isEnabled()
    assert dialog.options().backup_without_data is False
