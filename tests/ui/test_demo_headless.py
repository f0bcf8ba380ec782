"""`make demo` on a machine without a display: it runs PMC on a private Xvfb, saves a
screenshot of the main window once the lab's status is in, says so, and quits by itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from pmc.errors import LabError

pytestmark = [pytest.mark.lab, pytest.mark.gui, pytest.mark.slow]

ROOT = Path(__file__).parents[2]


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (apt install xvfb)")
def test_demo_without_a_display_runs_on_xvfb_and_saves_a_screenshot(tmp_path: Path) -> None:
    from pmc.lab import check_machine

    try:
        check_machine()
    except LabError as exc:
        pytest.skip(str(exc))
    shot = tmp_path / "shots" / "demo.png"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env.update(
        PMC_DEMO_SECONDS="2",
        PMC_DEMO_SCREENSHOT=str(shot),
        PMC_LAB_ID=f"demo{os.getpid() % 100000}",
        PMC_CONFIG_DIR=str(tmp_path / "config"),
        PMC_DATA_DIR=str(tmp_path / "data"),
        PMC_LOG_DIR=str(tmp_path / "log"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "ui.demo"],
        env=env, capture_output=True, text=True, timeout=280, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    out = done.stdout
    assert "No display here" in out and "Xvfb :" in out, out
    assert f"Screenshot of the main window: {shot}" in out, out
    assert "before the status had been probed" not in out
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    image = QImage(str(shot))
    assert not image.isNull()
    assert image.width() >= 1000 and image.height() >= 600, image.size()
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 17) for y in range(0, image.height(), 13)
    }
    assert len(colours) > 20, "the screenshot is (nearly) blank"
    assert shot.stat().st_size > 20_000
