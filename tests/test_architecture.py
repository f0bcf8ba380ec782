"""Keeps the architecture honest: the core never imports Qt or the UI."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pmc

FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "qasync", "ui", "pmc_ui")


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


ROOT = Path(pmc.__file__).resolve().parent.parent
NOT_SOURCE = {"build", "dist", "screenshots", "__pycache__"}


def _skipped(folder: str) -> bool:
    return folder in NOT_SOURCE or folder.startswith(".") or folder.endswith(".egg-info")


def _source_files() -> list[Path]:
    """The checkout's files: tracked or new, not ignored (git); without git, every file outside
    hidden folders (tool caches) and build output."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=False,
    )  # fmt: skip
    if listed.returncode == 0:
        return [ROOT / name for name in listed.stdout.decode().split("\0") if name]
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d == ".ci" or not _skipped(d)]
        found += [Path(folder) / name for name in files]
    return found


def test_version_is_defined_once() -> None:
    """One place holds PMC's version (pmc/__init__.py); the package metadata, the installers
    and the About box read it from there."""
    version = pmc.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    literal = re.compile(rb"(?<![\w.])" + re.escape(version.encode()) + rb"(?![\w.])")
    holders = [
        str(path.relative_to(ROOT))
        for path in _source_files()
        if path.is_file() and literal.search(path.read_bytes())
    ]
    assert holders == ["pmc/__init__.py"]
    # pyproject.toml names no version of its own: setuptools reads pmc.__version__
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "pmc.__version__"}
    assert importlib.metadata.version("pmc") == version, "reinstall: pip install -e '.[dev]'"
    # the installers take it from the package (tests/installer: the artefacts' names)
    from installer import dist
    from ui.about_dialog import versions

    assert version == dist.VERSION
    assert versions()["PMC"] == version
