"""The wheel installs only names that are PMC's own (``pmc``, ``pmc_ui``): no top-level ``ui``
or ``resources`` that another distribution could own too. Built without build isolation and
installed without dependencies into a fresh virtualenv that sees this one's packages, so it
needs no network; the repository's folders keep their names (pyproject's package-dir)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def run(*argv: str | Path, cwd: Path = ROOT) -> str:
    result = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # from a copy of the sources: setuptools would add what a stale build/ folder holds
    source = tmp_path_factory.mktemp("source")
    for name in ("pmc", "ui", "resources"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--no-index", "-q", "-w", out, source)  # fmt: skip
    (built,) = out.glob("pmc-*.whl")
    return built


def test_the_wheel_holds_pmc_names_only_and_every_module(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top == {"pmc", "pmc_ui"}
    for folder, installed in (("pmc", "pmc"), ("ui", "pmc_ui")):
        for module in (ROOT / folder).rglob("*.py"):
            relative = module.relative_to(ROOT / folder).as_posix()
            assert f"{installed}/{relative}" in names
    for resource in (ROOT / "resources").rglob("*"):
        if resource.is_file() and resource.suffix in (".svg", ".qss", ".desktop", ".py"):
            relative = resource.relative_to(ROOT / "resources").as_posix()
            assert f"pmc_ui/resources/{relative}" in names


def test_installed_pmc_runs_and_finds_its_resources(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
                .strip())  # fmt: skip
    # this virtualenv's packages (PySide6, paramiko…), without its editable PMC
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel)
    pmc = venv / ("Scripts/pmc.exe" if sys.platform == "win32" else "bin/pmc")
    import pmc as here

    assert run(pmc, "--version", cwd=tmp_path).strip() == f"pmc {here.__version__}"
    where = run(
        python, "-c",
        "import pmc, pmc_ui.resource_files as r; print(pmc.__file__); print(r.APP_ICON.is_file(),"
        " r.STYLE_SHEET.is_file(), any(r.ICONS_DIR.glob('*.svg')))",
        cwd=tmp_path,
    ).split("\n")  # fmt: skip
    assert Path(where[0]).is_relative_to(site)  # the installed PMC, not the repository's
    assert where[1] == "True True True"
    probe = "import importlib.util as u; print(u.find_spec('ui'), u.find_spec('resources'))"
    assert run(python, "-c", probe, cwd=tmp_path).strip() == "None None"
