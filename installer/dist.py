"""Build PMC's distributables: ``make dist`` runs ``python installer/dist.py``.

Linux (and any POSIX build machine):
  ``dist/pmc/``                              the one-folder PyInstaller build
  ``dist/pmc-VERSION-linux-ARCH.tar.gz``     that folder with install.sh/uninstall.sh, the
                                             desktop entry, icons and AppStream file
Windows (run in a Windows shell with Inno Setup 6 installed):
  ``dist/pmc/``                              the one-folder build (pmc.exe and pmcw.exe)
  ``dist/pmc-VERSION-windows-setup.exe``     the Inno Setup installer

The version comes from one place, ``pmc.__version__``. Timings and sizes are printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pmc  # noqa: E402 - after the path set-up, like PyInstaller's spec
from installer.icons import write_icons  # noqa: E402

VERSION = pmc.__version__
DIST = ROOT / "dist"
BUILD = ROOT / "build"
METAINFO = "com.icareus.pmc.metainfo.xml"


def folder_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def build_folder() -> Path:
    """Run PyInstaller on installer/pmc.spec; the folder it made."""
    pyinstaller = [sys.executable, "-m", "PyInstaller"]
    subprocess.run(
        [
            *pyinstaller,
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            str(DIST),
            "--workpath",
            str(BUILD / "pyinstaller"),
            str(ROOT / "installer" / "pmc.spec"),
        ],
        check=True,
        cwd=ROOT,
    )
    return DIST / "pmc"


def release_date() -> str:
    """The date of the commit being built (reproducible), else today."""
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%cs"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out = ""
    return out or dt.date.today().isoformat()


def linux_tarball(folder: Path) -> Path:
    """``dist/pmc-VERSION-linux-ARCH.tar.gz`` with everything install.sh puts in place."""
    name = f"pmc-{VERSION}-linux-{platform.machine() or 'unknown'}"
    stage = BUILD / "linux" / name
    shutil.rmtree(stage.parent, ignore_errors=True)
    stage.mkdir(parents=True)
    shutil.copytree(folder, stage / "pmc", symlinks=True)
    linux = ROOT / "installer" / "linux"
    for script in ("install.sh", "uninstall.sh"):
        shutil.copy2(linux / script, stage / script)
        (stage / script).chmod(0o755)
    shutil.copy2(linux / "README.txt", stage / "README.txt")
    shutil.copy2(ROOT / "installer" / "inventory.example.toml", stage / "inventory.example.toml")
    share = stage / "share"
    (share / "applications").mkdir(parents=True)
    shutil.copy2(ROOT / "resources" / "pmc.desktop", share / "applications" / "pmc.desktop")
    scalable = share / "icons" / "hicolor" / "scalable" / "apps"
    bitmap = share / "icons" / "hicolor" / "256x256" / "apps"
    scalable.mkdir(parents=True)
    bitmap.mkdir(parents=True)
    shutil.copy2(ROOT / "resources" / "pmc.svg", scalable / "pmc.svg")
    png, _ico = write_icons(BUILD / "icons")
    shutil.copy2(png, bitmap / "pmc.png")
    (share / "metainfo").mkdir()
    text = (linux / METAINFO).read_text(encoding="utf-8")
    text = text.replace("@VERSION@", VERSION).replace("@DATE@", release_date())
    (share / "metainfo" / METAINFO).write_text(text, encoding="utf-8")

    tarball = DIST / f"{name}.tar.gz"
    tarball.unlink(missing_ok=True)
    with tarfile.open(tarball, "w:gz", compresslevel=6) as tar:
        tar.add(stage, arcname=name, filter=_owned_by_nobody)
    return tarball


def _owned_by_nobody(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def windows_installer(folder: Path) -> Path:
    """Compile installer/windows/pmc.iss with Inno Setup's ISCC (``$ISCC`` or on PATH)."""
    iscc = os.environ.get("ISCC") or shutil.which("iscc") or shutil.which("ISCC")
    if iscc is None:
        default = Path(os.environ.get("PROGRAMFILES(X86)", r"C:\Program Files (x86)"))
        candidate = default / "Inno Setup 6" / "ISCC.exe"
        if not candidate.exists():
            raise SystemExit("dist: Inno Setup 6 (ISCC.exe) not found; install it or set ISCC")
        iscc = str(candidate)
    _png, ico = write_icons(BUILD / "icons")
    subprocess.run(
        [
            iscc,
            f"/DMyAppVersion={VERSION}",
            f"/DBuildDir={folder}",
            f"/DIconFile={ico}",
            f"/O{DIST}",
            str(ROOT / "installer" / "windows" / "pmc.iss"),
        ],
        check=True,
    )
    return DIST / f"pmc-{VERSION}-windows-setup.exe"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-build", action="store_true", help="package an existing dist/pmc without rebuilding"
    )
    args = parser.parse_args()
    started = time.monotonic()
    folder = DIST / "pmc" if args.no_build else build_folder()
    built = time.monotonic()
    if sys.platform == "win32":
        artefact = windows_installer(folder)
    else:
        artefact = linux_tarball(folder)
    done = time.monotonic()
    print(f"pmc {VERSION}: one-folder build {folder} ({mib(folder_size(folder))})")
    print(f"pmc {VERSION}: {artefact.name} ({mib(artefact.stat().st_size)})")
    print(f"build {built - started:.0f} s, packaging {done - built:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
