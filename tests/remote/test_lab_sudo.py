"""Non-root logins against the lab: ``operator`` works as root through ``sudo -n``, ``viewer``
(no sudo rights) gets SudoNotAllowed naming the server and what to configure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pmc.inventory import AuthMethod, Server
from pmc.remote import commands, files, services
from pmc.remote.connection import Connection
from pmc.remote.credentials import GivenCredentials
from pmc.remote.errors import SudoNotAllowed
from tests.remote.test_lab_transport import in_operator_namespace, trusted

pytestmark = pytest.mark.lab
SPOOLERS = "/opt/playout/api/config/spoolers.json"


def login(lab: Any, user: str, tmp_path: Path) -> Connection:
    srv = lab.servers["main"]
    return Connection(
        Server(name="main", management_address=srv.management_address,
               auth=AuthMethod.PASSWORD, ssh_user=user),
        cluster="lab",
        known_hosts=trusted(lab, tmp_path / "known_hosts"),
        credentials=GivenCredentials({"main": srv.password_of(user)}),
    )  # fmt: skip


def test_operator_works_as_root_through_sudo(lab: Any, tmp_path: Path) -> None:
    main = lab.servers["main"]
    before_stat = main.run(["stat", "-c", "%U:%G:%a", SPOOLERS]).stdout
    original = main.run(["cat", SPOOLERS]).stdout
    new_text = original.rstrip("\n") + "\n\n"
    backups: list[str] = []

    async def go() -> None:
        conn = login(lab, "operator", tmp_path)
        try:
            assert conn.needs_sudo
            me = await commands.run(conn, ["id", "-un"])
            assert me.stdout == "operator\n"
            root = await commands.run(conn, ["id", "-un"], root=True, check=True)
            assert (root.stdout, root.stderr) == ("root\n", "")
            assert await files.read_text(conn, SPOOLERS) == original
            written = await files.write_atomic(conn, SPOOLERS, new_text)
            assert written.backup is not None
            backups.append(written.backup)
            assert await files.read_text(conn, SPOOLERS) == new_text
            restarted = await services.restart(conn, "playout-api.service")
            assert restarted.is_running
        finally:
            await conn.close()

    try:
        in_operator_namespace(lab, go)
        assert main.run(["cat", SPOOLERS]).stdout == new_text
        assert main.run(["stat", "-c", "%U:%G:%a", SPOOLERS]).stdout == before_stat
        assert main.run(["cat", backups[0]]).stdout == original
        assert main.run(["stat", "-c", "%U:%G:%a", backups[0]]).stdout == before_stat
        assert main.systemctl("is-active", "playout-api").stdout.strip() == "active"
    finally:
        main.run(["sh", "-c", 'cat > "$1"', "restore", SPOOLERS], input=original)
        for backup in backups:
            main.run(["rm", "-f", "--", backup])


def test_viewer_without_sudo_gets_a_clear_refusal(lab: Any, tmp_path: Path) -> None:
    main = lab.servers["main"]
    original = main.run(["cat", SPOOLERS]).stdout

    async def go() -> list[SudoNotAllowed]:
        conn = login(lab, "viewer", tmp_path)
        refusals: list[SudoNotAllowed] = []
        try:
            me = await commands.run(conn, ["id", "-un"], check=True)
            assert me.stdout == "viewer\n"  # the login itself works
            for attempt in (
                lambda: commands.run(conn, ["true"], root=True),
                lambda: files.write_atomic(conn, SPOOLERS, "{}\n"),
                lambda: files.read_text(conn, SPOOLERS),
                lambda: services.restart(conn, "playout-api.service"),
            ):
                with pytest.raises(SudoNotAllowed) as caught:
                    await attempt()
                refusals.append(caught.value)
        finally:
            await conn.close()
        return refusals

    refusals = in_operator_namespace(lab, go)
    for refusal in refusals:
        text = str(refusal)
        assert text.startswith(
            "main (127.168.1.105): 'viewer' may not run commands as root without a password: "
            "sudo -n refused (a password is required)"
        ), text
        assert "Allow passwordless sudo for viewer on the server" in text
        assert text.endswith("or log in as root")
    assert main.run(["cat", SPOOLERS]).stdout == original
    leftovers = main.run(["sh", "-c", "ls -A /opt/playout/api/config"]).stdout
    assert ".pmc-tmp-" not in leftovers and ".pmc-backup-" not in leftovers
