"""Cancelling the setup wizard during the apply, against the lab: the engine stops at its next
safe point and rolls back; the wizard stays open and shows what was rolled back; every file
the plan touches is byte for byte as before (or still absent), the services run."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import paramiko
import pytest
import shiboken6
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWizard

from pmc import secrets
from pmc.inventory import Architecture, AuthMethod, Cluster, Inventory, Role, Server
from pmc.inventory_file import save_inventory
from pmc.jobs import EventKind, JobEvent, JobState
from pmc.lab import LabCluster
from pmc.plan import Plan, StepKind
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool
from tests.ui.helpers import open_window
from tests.ui.lab_session import operator_namespace

pytestmark = [pytest.mark.lab, pytest.mark.gui, pytest.mark.slow]


def touched_files(lab: LabCluster, plan: Plan) -> dict[tuple[str, str], str | None]:
    """SHA-256 of every file the plan writes or creates, per (server, path); None: absent."""
    found: dict[tuple[str, str], str | None] = {}
    for step in plan.steps:
        paths = [step.path] if step.path else []
        paths += list(step.creates)
        for path in paths:
            local = lab.servers[step.server].path(path)
            found[(step.server, path)] = (
                hashlib.sha256(local.read_bytes()).hexdigest() if local.exists() else None
            )
    return found


def test_cancel_during_apply_rolls_back_and_the_wizard_shows_it(  # noqa: PLR0917 (fixtures)
    qtbot: Any, loop: Any, secret_service: Any, isolated_dirs: Any, fresh_lab: LabCluster,
    tmp_path: Path,
) -> None:  # fmt: skip
    lab = fresh_lab
    servers = tuple(
        Server(s.name, s.management_address, s.redundancy_address, Role(s.role),
               auth=AuthMethod.PASSWORD)
        for s in lab.servers.values()
    )  # fmt: skip
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
            plan = plan_page.plan
            assert plan is not None
            writes = [s for s in plan.steps if s.kind is StepKind.WRITE_FILE]
            assert len(plan.steps) > 2 and writes, plan.steps
            first_write = writes[0]
            before = touched_files(lab, plan)

            # the operator cancels as soon as the first file has been written
            cancel = wizard.button(QWizard.WizardButton.CancelButton)
            clicked: list[str] = []

            def on_event(event: JobEvent) -> None:
                if (not clicked and event.kind is EventKind.STEP_FINISHED
                        and event.step == first_write.action()):  # fmt: skip
                    clicked.append(event.step)
                    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)

            window.session.signals.event.connect(on_event)
            qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)  # confirm
            box = wizard.confirm.understood
            qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
            commit = wizard.button(QWizard.WizardButton.CommitButton)
            qtbot.mouseClick(commit, Qt.MouseButton.LeftButton)  # apply
            page = wizard.apply_page
            qtbot.waitUntil(lambda: page.job is not None and page.job.state.is_final,
                            timeout=300000)  # fmt: skip
            window.session.signals.event.disconnect(on_event)
            assert clicked, "the first file write never finished"
            assert page.job.state is JobState.CANCELLED

            # the wizard stays open and says what was undone
            assert wizard.isVisible() and page.outcome.isVisible()
            outcome = page.outcome.text()
            assert "cancelled by the operator" in outcome, outcome
            assert "Rolled back:" in outcome and "nothing had been changed" not in outcome
            assert f"{first_write.server}: " in outcome and first_write.path in outcome
            assert "Could not roll back" not in outcome
            banner = page.outcome.banner.text()
            assert banner.startswith("Nothing changed: ") and banner.endswith(" restored."), banner
            assert page.current.text() == "The setup was cancelled."
            assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
            assert cancel.text().replace("&", "") == "Close"
            assert "cancelled" in page.log.toPlainText()

            # the servers are byte for byte as before, their services running
            assert touched_files(lab, plan) == before
            for srv in lab.servers.values():
                state = srv.systemctl("is-active", "playout-api.service").stdout.strip()
                assert state == "active", srv.name
            assert window.jobs.tree.topLevelItem(0).text(2) == "cancelled"

            qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)  # Close
            qtbot.waitUntil(lambda: not shiboken6.isValid(wizard))  # closed, and gone
        finally:
            closing = tasks.spawn(pool.close())
            qtbot.waitUntil(closing.done, timeout=30000)
            for server in servers:
                secrets.forget_server("lab", server.name)
