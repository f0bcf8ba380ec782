"""PySide 6.12.0 drops a reference to True on every emit() and to None on every void C++ call;
on Python 3.11 that ends in "Fatal Python error: bool_dealloc" / "none_dealloc" (at exit, or
during a long session). make_app() makes them immortal (ui.pyside_fixes); the app then exits
normally, without os._exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

ROOT = Path(__file__).parents[2]

EMITS = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QObject, Signal
{setup}
class Emitter(QObject):
    changed = Signal(int)
emitter = Emitter()
emitter.changed.connect(lambda value: None)
for n in range(200000):
    emitter.changed.emit(n)
    emitter.setObjectName("x")  # a void C++ call: returns None
print("emitted")
"""


def _run(setup: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", EMITS.format(setup=setup)], capture_output=True, text=True,
        timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip


def test_many_emits_then_a_normal_exit_with_make_app() -> None:
    done = _run("from ui.app import make_app\napp = make_app()")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "emitted"


def test_the_pyside_bug_is_still_there_or_the_fix_can_go() -> None:
    """Fails once PySide fixes emit(): then remove ui/pyside_fixes.py."""
    import PySide6

    done = _run("from PySide6.QtWidgets import QApplication\napp = QApplication([])")
    if sys.version_info >= (3, 12):
        pytest.skip("the bools are immortal on Python 3.12+")
    assert done.returncode != 0 and "_dealloc" in done.stderr, (
        f"PySide {PySide6.__version__} no longer drops references to True/None: "
        "ui/pyside_fixes.py can go"
    )
