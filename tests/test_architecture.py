"""Keeps the architecture honest: the core never imports Qt or the UI."""

from __future__ import annotations

import ast
from pathlib import Path

import pmc

FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "qasync", "ui")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_core_never_imports_qt_or_ui() -> None:
    root = Path(pmc.__file__).parent
    offenders = [
        f"{path.relative_to(root.parent)}:{line}: imports {name}"
        for path in sorted(root.rglob("*.py"))
        for line, name in _imports(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []


def test_checker_catches_a_qt_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from PySide6.QtCore import QObject\nimport qasync\n")
    assert [name for _, name in _imports(bad)] == ["PySide6.QtCore", "qasync"]


def test_version_is_defined_once() -> None:
    assert pmc.__version__.count(".") == 2
