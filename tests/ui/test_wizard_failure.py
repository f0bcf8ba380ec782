"""The setup wizard against a sabotaged lab: backup's Playout API will not restart, so the
apply fails; the wizard shows the engine's operator-facing message and what was rolled back,
and the servers are as they were."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import paramiko
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QWizard

from pmc import secrets
from pmc.inventory import Architecture, AuthMethod, Cluster, Inventory, Role, Server
from pmc.inventory_file import save_inventory
from pmc.lab import LabCluster
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool
from tests.setup.test_lab_setup import sabotage_api_restart
from tests.ui.helpers import open_window
from tests.ui.lab_session import operator_namespace
from ui.icons import icon

pytestmark = [pytest.mark.lab, pytest.mark.gui, pytest.mark.slow]


def test_failed_apply_shows_the_engine_message_and_the_rollback(  # noqa: PLR0917 (fixtures)
    qtbot: Any, loop: Any, secret_service: Any, isolated_dirs: Any, fresh_lab: LabCluster,
    tmp_path: Path,
) -> None:  # fmt: skip
    lab = fresh_lab
    servers = tuple(
        Server(
            s.name,
            s.management_address,
            s.redundancy_address,
            Role(s.role),
            auth=AuthMethod.PASSWORD,
        )
        for s in lab.servers.values()
    )
    cluster = Cluster("lab", Architecture.COMBINED, servers)
    inventory = tmp_path / "inventory.toml"
    save_inventory(Inventory((cluster,)), inventory)
    for server in servers:
        secrets.set_password("lab", server.name, lab.servers[server.name].root_password)
    known = KnownHosts(tmp_path / "known_hosts")
    for srv in lab.servers.values():
        kind, data = srv.host_key().split()[:2]
        known.add(
            srv.management_address, paramiko.PKey.from_type_string(kind, base64.b64decode(data))
        )
    spoolers = lab.servers["main"].path(cluster.server("main").layout.spoolers_json)
    before = spoolers.read_bytes()
    with operator_namespace(lab):
        pool = ConnectionPool(known_hosts=known)
        window = open_window(qtbot, inventory, pool=pool)
        window.poller.stop()
        window.tree.select("lab")
        tasks = window.session.tasks
        try:
            window.commands["setup_redundancy"].trigger()
            wizard = window.setup_flows.wizard
            qtbot.waitExposed(wizard)
            next_button = wizard.button(QWizard.WizardButton.NextButton)
            qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)  # options
            qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)  # plan
            plan_page = wizard.plan_page
            qtbot.waitUntil(lambda: plan_page.plan is not None or bool(plan_page.error),
                            timeout=120000)  # fmt: skip
            assert plan_page.error is None, plan_page.error
            sabotage_api_restart(lab, "backup")
            qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)  # confirm
            box = wizard.confirm.understood
            qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
            commit = wizard.button(QWizard.WizardButton.CommitButton)
            qtbot.mouseClick(commit, Qt.MouseButton.LeftButton)  # apply
            page = wizard.apply_page
            qtbot.waitUntil(lambda: page.job is not None and page.job.state.is_final,
                            timeout=300000)  # fmt: skip
            assert not page.succeeded
            outcome = page.outcome.text()
            assert page.outcome.isVisible()
            # the failure screen: one banner line, word for word, not in red (restored)
            assert page.outcome.banner.text() == "Nothing changed: both servers were restored."
            assert "color" not in page.outcome.banner.styleSheet()
            cause = page.outcome.cause.text()  # the engine's own words, the server once
            assert cause == (
                "“restart playout-api.service” failed on backup (127.168.1.108): systemctl "
                "restart playout-api.service failed: Job for playout-api.service failed. The "
                "service is active; see journalctl -u playout-api.service on the server"
            )
            assert "Rolled back:" in outcome and "nothing had been changed" not in outcome
            assert "Could not roll back" not in outcome
            # what was rolled back: listed once, behind its toggle
            assert not page.outcome.details.isVisible()
            page.outcome.toggle.click()
            assert page.outcome.details.isVisible()
            rolled = page.outcome.details.toPlainText().splitlines()
            assert rolled and len(rolled) == len(set(rolled))
            assert {line.split(":", 1)[0] for line in rolled} == {"main", "backup"}
            page.outcome.copy_button.click()
            assert QApplication.clipboard().text() == outcome
            # the bar says how it went, the failed job has the failed icon
            assert page.progress.styleSheet(), "the bar is coloured by the outcome"
            assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
            log = page.log.toPlainText()
            assert "Job for playout-api.service failed" in log
            assert log.count("Rolled back:") == 1, log  # the executor's line; not again at the end
            # the servers are as they were: main's spoolers.json unchanged, the API running
            assert spoolers.read_bytes() == before
            for srv in lab.servers.values():
                state = srv.systemctl("is-active", "playout-api.service").stdout.strip()
                assert state == "active", srv.name
            jobs = window.jobs.tree
            assert jobs.topLevelItem(0).text(2) == "failed"
            shown = jobs.topLevelItem(0).icon(2).pixmap(16, 16).toImage()
            expected = icon("failed").pixmap(16, 16).toImage()
            assert shown == expected
            wizard.reject()
        finally:
            closing = tasks.spawn(pool.close())
            qtbot.waitUntil(closing.done, timeout=30000)
            for server in servers:
                secrets.forget_server("lab", server.name)
