"""Regression guard for a PySide bug that aborts PMC: PySide6 6.12.0 (its abi3 wheel) returns
True from every ``emit()`` and None from every void C++ call without taking a reference. On
Python 3.11, where these objects are not immortal, their reference counts then drain until
the interpreter aborts ("Fatal Python error: bool_dealloc" / "none_dealloc") — at exit or in
the middle of a long session. pyproject.toml pins ``PySide6-Essentials<6.12`` for it; this test
fails, naming the installed version, if the PySide in use drops those references."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

ROOT = Path(__file__).parents[2]
CALLS = 200_000
TOLERANCE = 50  # other code may hold or drop a few references meanwhile; the bug drops CALLS

PROBE = f"""
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import PySide6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

app = QApplication([])


class Emitter(QObject):
    changed = Signal(int)


emitter = Emitter()
emitter.changed.connect(lambda value: None)
for n in range(1000):  # warm up: caches, interned objects
    emitter.changed.emit(n)
    emitter.setObjectName("x")
true_before, none_before = sys.getrefcount(True), sys.getrefcount(None)
for n in range({CALLS}):
    emitter.changed.emit(n)  # returns True
    emitter.setObjectName("x")  # a void C++ call: returns None
print(json.dumps({{
    "pyside": PySide6.__version__,
    "true": sys.getrefcount(True) - true_before,
    "none": sys.getrefcount(None) - none_before,
}}))
"""


@pytest.mark.skipif(
    sys.version_info >= (3, 12),
    reason="True and None are immortal from Python 3.12 on: their reference counts say nothing "
    "(the app-exit test below still runs)",
)
def test_emits_and_void_calls_keep_true_and_none_alive() -> None:
    import PySide6

    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=180,
        check=False, cwd=ROOT,
    )  # fmt: skip
    bug = (
        f"PySide6 {PySide6.__version__} drops references to True/None on emit() and void "
        "calls (the 6.12.0 bug): PMC would abort with 'bool_dealloc'/'none_dealloc' on "
        f"Python {sys.version_info.major}.{sys.version_info.minor}. Keep the pin "
        "PySide6-Essentials<6.12 in pyproject.toml (or pin past a fixed release)."
    )
    assert done.returncode == 0, f"{bug}\n{done.stderr[-2000:]}"
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert abs(figures["true"]) <= TOLERANCE, f"{bug} (True: {figures['true']:+d})"
    assert abs(figures["none"]) <= TOLERANCE, f"{bug} (None: {figures['none']:+d})"


def test_the_app_exits_normally_after_a_long_session() -> None:
    """make_app() with nothing patched: many emits, then a normal interpreter exit (the
    final collection is where the bug aborted)."""
    script = (
        "import os\nos.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from PySide6.QtCore import QObject, Signal\n"
        "from ui.app import make_app\napp = make_app()\n"
        "class E(QObject):\n    s = Signal(int)\n"
        "e = E()\ne.s.connect(lambda v: None)\n"
        f"for n in range({CALLS}):\n    e.s.emit(n)\n    e.setObjectName('x')\n"
        "print('done')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180,
        check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "done"
    assert "_dealloc" not in done.stderr
