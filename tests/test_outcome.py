"""pmc.outcome: the failure screen's words, asserted word for word. The banner says first
whether anything changed; only a rollback that failed says "Could not restore"; a failed
step's cause names its server once."""

from __future__ import annotations

import pytest

from pmc.outcome import after_rollback, not_restored, restored_from_backup, step_failed

ROLLED_BACK = [
    "backup: removed /root/.ssh/known_hosts",
    "main: restored /opt/playout/api/config/spoolers.json",
    "main: restarted playout-api.service",
]


def test_a_rolled_back_apply_says_nothing_changed() -> None:
    outcome = after_rollback("the cause", ROLLED_BACK, [])
    assert outcome.banner == "Nothing changed: both servers were restored."
    assert outcome.restored and not outcome.ok
    assert outcome.text() == (
        "Nothing changed: both servers were restored.\n\nthe cause\n\nRolled back:\n"
        "  backup: removed /root/.ssh/known_hosts\n"
        "  main: restored /opt/playout/api/config/spoolers.json\n"
        "  main: restarted playout-api.service"
    )
    one = after_rollback("x", ROLLED_BACK[1:], [])
    assert one.banner == "Nothing changed: main was restored."
    three = after_rollback("x", [*ROLLED_BACK, "player1: restored /etc/x"], [])
    assert three.banner == "Nothing changed: all 3 servers were restored."
    assert after_rollback("x", [], []).banner == (
        "Nothing changed: the failure came before the first change."
    )
    assert after_rollback("x", [], [], cancelled=True).banner == (
        "Nothing changed: cancelled before the first change."
    )


def test_a_rollback_that_failed_is_the_only_red_banner() -> None:
    problem = "backup: playout-api.service did not come back: Job failed"
    outcome = after_rollback("the cause", ROLLED_BACK, [problem])
    assert outcome.banner == f"Could not restore: {problem}"
    assert not outcome.restored
    assert outcome.text().endswith(f"Could not roll back:\n  {problem}")
    assert not not_restored("cause", "backup's tables").restored
    imported = restored_from_backup("cause", "backup", "/var/backups/b.pmcbundle")
    assert imported.restored
    assert imported.banner == (
        "Nothing changed: backup was restored from its backup (the backup stays at "
        "/var/backups/b.pmcbundle)."
    )


@pytest.mark.parametrize(
    ("step", "error", "cause"),
    [
        (
            "[backup] restart playout-api.service",
            "backup (127.168.1.108): systemctl restart playout-api.service failed: Job failed",
            "“restart playout-api.service” failed on backup (127.168.1.108): systemctl "
            "restart playout-api.service failed: Job failed",
        ),
        (
            "[main] edit /opt/playout/db/pg_hba.conf",
            "disk full",
            "“edit /opt/playout/db/pg_hba.conf” failed on main: disk full",
        ),
        ("check the plan", "it changed", "check the plan: it changed"),
    ],
)
def test_a_failed_step_names_its_server_once(step: str, error: str, cause: str) -> None:
    assert step_failed(step, error) == cause
