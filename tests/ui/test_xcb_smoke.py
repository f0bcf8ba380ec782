"""One smoke test on the real xcb platform under Xvfb: the app starts, paints its main window
and quits cleanly (the other GUI tests run offscreen)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pmc.inventory_file import save_inventory
from tests.ui.conftest import SEED_LIKE

pytestmark = pytest.mark.gui


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run (apt install xvfb)")
def test_app_starts_on_xcb_under_xvfb(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.toml"
    save_inventory(SEED_LIKE, inventory)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "xcb",
        "PMC_CONFIG_DIR": str(tmp_path / "config"),
        "PMC_DATA_DIR": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "QT_DEBUG_PLUGINS": "0",
    }
    done = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-m", "ui.app",
         "--inventory", str(inventory), "--quit-after-paint"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
        cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Could not load the Qt platform plugin" not in done.stderr
    assert "Traceback" not in done.stderr
