"""The desktop app logs to PMC's log file only: `pmc gui` (and `pmc --inventory F gui`, which
passes through the CLI's stderr logging first) prints no log lines on the terminal."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pmc.inventory_file import save_inventory
from tests.ui.conftest import SEED_LIKE

pytestmark = pytest.mark.gui

ROOT = Path(__file__).parents[2]


def test_start_logging_replaces_the_clis_stderr_handler(
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    restore_logging: None,
) -> None:
    from pmc.log import configure_logging
    from ui.app import start_logging

    log_file = tmp_path / "pmc.log"
    configure_logging(log_file=log_file)  # what `pmc --inventory F gui` did before the app
    logging.getLogger("pmc.test").warning("before the app: marker-cli")
    assert "marker-cli" in capfd.readouterr().err
    monkeypatch.setenv("PMC_LOG_DIR", str(tmp_path))
    start_logging()
    logging.getLogger("pmc.test").warning("in the app: marker-gui")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "marker-gui" not in capfd.readouterr().err
    assert "marker-gui" in (tmp_path / "pmc.log").read_text(encoding="utf-8")


def test_pmc_gui_prints_no_log_lines(tmp_path: Path) -> None:
    """A start-up warning (the job history cannot be opened: its folder is a file) goes to
    the log file, not to the terminal."""
    inventory = tmp_path / "inventory.toml"
    save_inventory(SEED_LIKE, inventory)
    blocked = tmp_path / "data-is-a-file"
    blocked.write_text("")
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PMC_CONFIG_DIR": str(tmp_path / "config"),
        "PMC_DATA_DIR": str(blocked),
        "PMC_LOG_DIR": str(tmp_path / "log"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ui.launch", "gui", "--inventory", str(inventory),
         "--quit-after-paint"],
        env=env, capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "job history unavailable" not in done.stderr, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    logged = (tmp_path / "log" / "pmc.log").read_text(encoding="utf-8")
    assert "job history unavailable" in logged
