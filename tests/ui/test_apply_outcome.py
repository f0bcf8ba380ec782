"""The wizard's apply page tells what a cancelled apply rolled back, and what it could not,
from the report the error carries (:class:`pmc.setup.apply.SetupCancelled`), never from its
text. No server: the job is a stand-in that ends as the executor does."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from pmc.jobs import Job, JobContext, JobState
from pmc.setup.apply import ApplyReport, SetupCancelled
from tests.ui.helpers import open_window
from ui.wizard.apply_page import ApplyPage

pytestmark = pytest.mark.gui


@pytest.mark.usefixtures("loop")
def test_a_cancelled_apply_shows_the_rollback_of_its_report(
    qtbot: Any, inventory_file: Path, tmp_path: Path
) -> None:
    window = open_window(qtbot, inventory_file)
    window.poller.stop()
    report = ApplyReport(
        "studio",
        rolled_back=["restored /etc/ssh/sshd_config on main"],
        # a problem whose own words hold the summary's separators and end with its full stop
        rollback_problems=["backup: rm said 'a; b. COULD NOT roll back: c.'", "main: etc."],
    )

    async def body(ctx: JobContext) -> ApplyReport:
        await asyncio.sleep(0)
        raise SetupCancelled(report)

    page = ApplyPage(window.session)
    qtbot.addWidget(page)
    page.make_job = lambda: Job("setup", "Set up studio", body, cluster="studio")
    page.initializePage()
    qtbot.waitUntil(lambda: page.job is not None and page.job.state.is_final, timeout=10_000)
    qtbot.waitUntil(lambda: page.outcome.outcome is not None, timeout=10_000)

    assert page.job is not None and page.job.state is JobState.CANCELLED
    outcome = page.outcome.outcome
    assert outcome.cause == "the setup was cancelled by the operator"
    # each line of the report as it is, the one holding the summary's words not split
    assert outcome.undone == ("restored /etc/ssh/sshd_config on main",)
    assert outcome.not_undone == (
        "backup: rm said 'a; b. COULD NOT roll back: c.'",
        "main: etc.",
    )
    assert page.outcome.text().endswith(
        "Could not roll back:\n  backup: rm said 'a; b. COULD NOT roll back: c.'\n  main: etc."
    )
    assert page.current.text() == "The setup was cancelled."
