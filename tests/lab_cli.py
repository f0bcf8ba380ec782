"""``pmc`` run as an operator runs it against the rehearsal lab: subprocesses in the lab's
operator namespace, an inventory file for the lab's cluster ``lab``, root passwords in the
session's real Secret Service keyring, host keys trusted with ``--trust-fingerprint``.
A :class:`Desktop` is one computer's PMC folders: two desktops see each other only through
the servers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pmc import secrets
from pmc.inventory import Architecture
from pmc.lab import LabCluster
from tests.fixtures.keyring import SecretServiceSession
from tests.setup.labkit import lab_cluster
from tests.setup.test_lab_cli import fingerprints, write_inventory


@dataclass
class Desktop:
    """PMC's own folders, as on one operator's computer; with ``name`` PMC runs under that
    host name (its own UTS namespace), with ``user`` as that OS user's login name."""

    root: Path
    name: str | None = None
    user: str | None = None

    @property
    def env(self) -> dict[str, str]:
        login = {"USER": self.user, "LOGNAME": self.user} if self.user else {}
        return {
            **os.environ,
            **login,
            "PMC_CONFIG_DIR": str(self.root / "config"),
            "PMC_DATA_DIR": str(self.root / "data"),
        }

    def argv(self, argv: list[str]) -> list[str]:
        if not self.name:
            return argv
        named = 'hostname "$0" && exec "$@"'
        return ["unshare", "--uts", "--", "sh", "-c", named, self.name, *argv]


class Pmc:
    def __init__(self, lab: LabCluster, inventory: Path) -> None:
        self.lab = lab
        self.inventory = inventory
        self.trust = [a for fp in fingerprints(lab) for a in ("--trust-fingerprint", fp)]

    def start(
        self, desktop: Desktop, *args: str, stdin: int | None = subprocess.DEVNULL
    ) -> subprocess.Popen[str]:
        pmc = [sys.executable, "-m", "pmc", "--inventory", str(self.inventory), *args,
               *self.trust]  # fmt: skip
        argv = ["ip", "netns", "exec", self.lab.operator_namespace, *desktop.argv(pmc)]
        return subprocess.Popen(
            argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=desktop.env,
        )  # fmt: skip

    def run(self, desktop: Desktop, *args: str) -> tuple[int, str]:
        return finish(self.start(desktop, *args))


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Its exit status and everything it printed (stdout, then stderr)."""
    out, err = proc.communicate(timeout=900)
    return proc.returncode, out + err


@pytest.fixture
def pmc(
    fresh_lab: LabCluster, secret_service: SecretServiceSession, tmp_path: Path
) -> Iterator[Pmc]:
    """``pmc`` on the session's lab (reset to fresh), as the combined cluster ``lab``; the
    root passwords are in the session's keyring during the test only."""
    cluster = lab_cluster(fresh_lab, Architecture.COMBINED)
    for srv in fresh_lab.servers.values():
        secrets.set_password("lab", srv.name, srv.root_password)
    try:
        yield Pmc(fresh_lab, write_inventory(tmp_path / "lab.toml", cluster))
    finally:
        for srv in fresh_lab.servers.values():
            secrets.delete_password("lab", srv.name)
