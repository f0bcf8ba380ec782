"""Resetting a lab server empties its private /tmp, /root/.ssh, … from the host side. A folder
there that the server's mount namespace uses to bind the lab's own Python back in (a checkout
under /tmp, as CI has) must survive: removing it detaches that mount inside the running server
and its systemctl/firewall-cmd stand-ins lose their interpreter."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if not sys.platform.startswith("linux"):
    pytest.skip("the lab is Linux-only", allow_module_level=True)

from pmc.lab import interpreter, server


def test_clear_keeps_the_folders_python_is_bound_into(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(interpreter, "paths_to_keep", lambda: ["/tmp/ci-clone", "/usr"])
    (tmp_path / "ci-clone").mkdir()
    (tmp_path / "leftover").mkdir()
    (tmp_path / "leftover" / "file").write_text("x")
    (tmp_path / "stray.txt").write_text("x")
    server._clear(tmp_path, "/tmp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ci-clone"]
