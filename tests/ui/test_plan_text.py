"""What the wizard's plan page shows for a step: the effective value before and after, the
CHECK steps' question to the daemon, the diff of what ALTER SYSTEM rewrites, bytes that are
not UTF-8 as \\xNN."""

from __future__ import annotations

from pmc.plan import Effective, Probe, Step, StepKind
from ui.wizard.plan_page import describe_step


def test_check_and_alter_system_steps_read_well() -> None:
    check = Step(
        StepKind.CHECK,
        "main",
        "sshd uses PermitRootLogin prohibit-password for root from 127.17.59.129",
        "copy config's login needs it",
        probe=Probe("sshd", "permitrootlogin", ("prohibit-password",), "user=root"),
    )
    assert describe_step(check).endswith("# asks sshd for permitrootlogin: prohibit-password\n")
    before = "# G\udcf3mez\nlisten_addresses = 'localhost'\n"
    alter = Step(
        StepKind.RUN,
        "main",
        "ALTER SYSTEM SET listen_addresses",
        "it comes from postgresql.auto.conf",
        argv=("psql", "-c", "ALTER SYSTEM SET listen_addresses = 'localhost,127.17.59.128'"),
        undo=(("psql", "-c", "ALTER SYSTEM SET listen_addresses = 'localhost'"),),
        path="/opt/playout/db/postgresql.auto.conf",
        before=before,
        after=before.replace("'localhost'", "'localhost,127.17.59.128'"),
        effective=(Effective("PostgreSQL listen_addresses", "'localhost'", "'localhost,…'"),),
    )
    text = describe_step(alter)
    assert "# effective: PostgreSQL listen_addresses: 'localhost' → 'localhost,…'\n" in text
    assert "+listen_addresses = 'localhost,127.17.59.128'\n" in text
    assert " # G\\xf3mez\n" in text
    text.encode("utf-8")  # Qt gets text without lone surrogates
