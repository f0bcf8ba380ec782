"""The day main fails, through the desktop app (pytest-qt), on the rehearsal lab: combined
redundancy set up (by a colleague, with ``pmc setup apply``) → Synchronize (main → backup) →
main fails (Playout services stopped, SSH refused) → Cluster ▸ Switch over… to backup → a
service added in backup's Web Console → main repaired → Synchronize from main is refused in the
sync panel, word for word, with a checkbox naming the count → "Synchronize from backup first"
→ Cluster ▸ Switch over… back to main → the drift check says in sync, the service is on main,
and Cluster ▸ History lists every step (the colleague's setup too).

Passwords are in the real Secret Service, host keys pinned from the lab's own files, the test
thread moved into the operator's network namespace meanwhile."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pmc.jobs import Job, JobState
from pmc.remote.pool import ConnectionPool
from pmc.store import Store
from tests.failover_day import add_service, fail, hhmm, last_sync, repair, service_names
from tests.lab_cli import Desktop, Pmc
from tests.setup.labkit import trust_lab
from tests.ui.helpers import open_window
from tests.ui.lab_session import operator_namespace

pytestmark = [pytest.mark.lab, pytest.mark.gui, pytest.mark.keyring, pytest.mark.slow,
              pytest.mark.timeout(1200)]  # fmt: skip

JOB_TIMEOUT = 180_000


@pytest.fixture
def day_window(qtbot: Any, loop: Any, pmc: Pmc, tmp_path: Path) -> Iterator[Any]:
    """The lab set up (combined) by a colleague's ``pmc``, and the app open on its cluster."""
    code, text = pmc.run(Desktop(tmp_path / "colleague"), "setup", "apply", "--cluster", "lab",
                         "--yes")  # fmt: skip
    assert code == 0, text
    with operator_namespace(pmc.lab):
        pool = ConnectionPool(known_hosts=trust_lab(pmc.lab, tmp_path / "known_hosts"))
        window = open_window(qtbot, pmc.inventory, pool=pool, store=Store.in_memory())
        window.tree.select("lab")
        runner, tasks = window.runner, window.session.tasks
        yield window
        closing = tasks.spawn(runner.close())
        qtbot.waitUntil(closing.done, timeout=60000)
        closing = tasks.spawn(pool.close())
        qtbot.waitUntil(closing.done, timeout=30000)


def _ended(qtbot: Any, job: Job[object], panel: Any) -> None:
    qtbot.waitUntil(lambda: job.state.is_final, timeout=JOB_TIMEOUT)
    assert job.state is JobState.SUCCEEDED, panel.log.toPlainText()[-3000:]


def _switch_over(qtbot: Any, window: Any, to: str) -> Any:
    window.commands["switch_over"].trigger()
    dialog = window.dialogs.last
    assert dialog.objectName() == "switchoverDialog" and dialog.isVisible()
    assert dialog.target.currentData() == to
    qtbot.waitUntil(dialog.apply_button.isEnabled, timeout=60000)
    plan = dialog.details.toPlainText()
    assert f"{to} becomes the active server" in plan, plan
    dialog.apply_button.click()
    qtbot.waitUntil(lambda: dialog.outcome.text()[:1] in ("✔", "✖"), timeout=JOB_TIMEOUT)
    assert dialog.outcome.text().startswith("✔"), dialog.outcome.text()
    dialog.close()
    return plan


def test_the_day_main_fails_through_the_gui(qtbot: Any, day_window: Any, pmc: Pmc) -> None:
    window, lab = day_window, pmc.lab
    panel = window.sync
    started = time.monotonic()
    assert panel.direction.source.currentText() == "main (active)"
    assert panel.direction.arrow.text() == "main → backup"
    window.commands["synchronize"].trigger()
    _ended(qtbot, panel.job, panel)
    assert panel.job.title == "Synchronize lab: main → backup (delta)"
    synced = last_sync(lab, "backup")

    fail(lab, "main")
    plan = _switch_over(qtbot, window, "backup")
    assert "! main cannot be reached" in plan
    assert window.session.cluster("lab").active == "backup"
    qtbot.waitUntil(lambda: panel.direction.arrow.text() == "backup → main")
    assert panel.direction.source.currentText() == "backup (active)"

    add_service(lab, "backup", 7, "Icareus 7")
    repair(lab, "main")
    panel.direction.source.setCurrentIndex(panel.direction.source.findData("main"))
    assert panel.direction.arrow.text() == "main → backup"
    panel.sync_button.click()
    refused = panel.job
    qtbot.waitUntil(lambda: refused.state.is_final, timeout=JOB_TIMEOUT)
    assert refused.state is JobState.FAILED
    qtbot.waitUntil(lambda: getattr(panel, "last_refusal", None) is not None)
    prompt = panel.last_refusal
    assert prompt.text.text() == (
        f"backup has 2 rows in 2 tables changed since {hhmm(synced['epoch'])}; syncing from"
        " main would discard them."
    )
    assert prompt.discard.text() == "Discard the 2 rows in 2 tables changed on backup"
    assert not prompt.overwrite.isEnabled()
    prompt.discard.setChecked(True)
    assert prompt.overwrite.isEnabled()
    prompt.discard.setChecked(False)
    assert "Icareus 7" in service_names(lab, "backup")  # nothing was discarded

    prompt.other_way.click()
    back = panel.job
    assert back is not refused
    _ended(qtbot, back, panel)
    assert back.title == "Synchronize lab: backup → main (delta)"
    _switch_over(qtbot, window, "main")
    assert window.session.cluster("lab").active is None
    qtbot.waitUntil(lambda: panel.direction.arrow.text() == "main → backup")

    panel.check_drift()
    qtbot.waitUntil(lambda: "(" in panel.drift.toPlainText().splitlines()[-1], timeout=60000)
    assert ": in sync" in panel.drift.toPlainText(), panel.drift.toPlainText()
    assert "Icareus 7" in service_names(lab, "main")
    day = time.monotonic() - started

    window.commands["history"].trigger()
    history = window.dialogs.last
    assert history.objectName() == "historyDialog"
    qtbot.waitUntil(lambda: history.loaded is not None, timeout=60000)
    table = history.table
    rows = [
        [table.topLevelItem(i).text(c) for c in (2, 3, 4)] for i in range(table.topLevelItemCount())
    ]
    assert rows == [
        ["Switch lab over to main", "succeeded", "backup, main"],
        ["Synchronize lab: backup → main (delta)", "succeeded", "backup, main"],
        ["Synchronize lab: main → backup (delta)", "failed", "backup, main"],
        ["Switch lab over to backup", "succeeded", "backup"],
        ["Synchronize lab: main → backup (delta)", "succeeded", "backup, main"],
        ["Set up Web redundancy and database replication on lab", "succeeded", "backup, main"],
    ], rows
    switched = table.topLevelItem(3)
    assert switched.child(0).text(2) == "backup: active server main → backup"
    print(f"the day through the GUI took {day:.1f} s")
