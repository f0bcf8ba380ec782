"""Smoke tests of the BUILT program (dist/pmc/pmc and the Linux tarball), not the venv.

They run after `make dist` with PMC_DIST_CHECK=1 (`make dist-check`, which CI runs); without
that variable they are skipped, since a plain `make test` does not build anything.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

import pmc
from tests.fixtures.keyring import SecretServiceSession

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "dist" / "pmc"
EXE = FOLDER / "pmc"
TARBALL_NAME = f"pmc-{pmc.__version__}-linux-{platform.machine()}"
TARBALL = ROOT / "dist" / f"{TARBALL_NAME}.tar.gz"
SIZE_GOAL = 250 * 2**20

GOOD = """\
version = 1

[[clusters]]
name = "studio"
architecture = "manual"

[[clusters.servers]]
name = "main"
management_address = "127.168.1.105"
"""
# A rule broken (two servers with one name): PMC reports it and exits 1.
BROKEN = GOOD + '\n[[clusters.servers]]\nname = "main"\nmanagement_address = "127.168.1.108"\n'


@pytest.fixture(autouse=True, scope="module")
def built() -> None:
    if not os.environ.get("PMC_DIST_CHECK"):
        pytest.skip("smoke tests of the built program: run `make dist-check`")
    assert EXE.is_file(), f"{EXE} is missing: `make dist` did not build it"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment: no venv, no display, PMC's folders in tmp_path."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PMC_", "QT_", "VIRTUAL_ENV", "PYTHON", "DBUS_", "DISPLAY"))
        and key not in {"WAYLAND_DISPLAY", "XDG_RUNTIME_DIR"}
    }
    env.update(
        HOME=str(tmp_path / "home"),
        PATH="/usr/bin:/bin",
        PMC_CONFIG_DIR=str(tmp_path / "config"),
        PMC_DATA_DIR=str(tmp_path / "data"),
        PMC_LOG_DIR=str(tmp_path / "log"),
    )
    env.update(extra)
    return env


def _pmc(
    tmp_path: Path, *args: str, exe: Path = EXE, wrapper: tuple[str, ...] = (), **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*wrapper, str(exe), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(tmp_path, **extra),
        cwd=tmp_path,
    )


def test_version_is_the_package_version(tmp_path: Path) -> None:
    result = _pmc(tmp_path, "--version")
    assert (result.returncode, result.stdout) == (0, f"pmc {pmc.__version__}\n"), result.stderr


def test_inventory_validate_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD, encoding="utf-8")
    result = _pmc(tmp_path, "inventory", "validate", str(good))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{good}: valid (1 clusters, 1 servers)\n"

    broken = tmp_path / "broken.toml"
    broken.write_text(BROKEN, encoding="utf-8")
    result = _pmc(tmp_path, "inventory", "validate", str(broken))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith(f"{broken}:12: server 'main'")

    example = ROOT / "installer" / "inventory.example.toml"
    assert _pmc(tmp_path, "inventory", "validate", str(example)).returncode == 0


def _open_and_close_gui(tmp_path: Path, *wrapper: str, platform_name: str) -> None:
    empty = tmp_path / "inventory.toml"
    empty.write_text("version = 1\n", encoding="utf-8")
    result = _pmc(
        tmp_path,
        "gui",
        "--inventory",
        str(empty),
        "--quit-after-paint",
        wrapper=wrapper,
        QT_QPA_PLATFORM=platform_name,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "Could not load the Qt platform plugin" not in result.stderr
    assert "Cannot load library" not in result.stderr


def test_gui_opens_and_closes_offscreen(tmp_path: Path) -> None:
    _open_and_close_gui(tmp_path, platform_name="offscreen")


def test_gui_opens_and_closes_on_x11(tmp_path: Path) -> None:
    """The xcb platform plugin and its libraries, on a real (virtual) X server."""
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        pytest.skip("needs xvfb-run (apt install xvfb xauth; .ci/run installs them)")
    _open_and_close_gui(tmp_path, xvfb_run, "-a", platform_name="xcb")


def test_frozen_keyring_is_the_secret_service(
    tmp_path: Path, secret_service: SecretServiceSession
) -> None:
    """keyring finds its backends through entry points: the frozen build must ship them."""
    result = _pmc(
        tmp_path,
        "--bundle-check",
        DBUS_SESSION_BUS_ADDRESS=secret_service.bus_address,
        HOME=str(secret_service.home),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["frozen"] is True
    assert report["version"] == pmc.__version__
    assert report["pmc_backend"] == "keyring.backends.SecretService.Keyring"
    assert report["keyring_backend"] != "keyring.backends.fail.Keyring"
    assert report["resources_ok"] is True
    assert Path(report["resources_dir"]).is_relative_to(FOLDER)
    assert {"libqxcb.so", "libqwayland.so", "libqoffscreen.so"} <= set(report["qt_platforms"])


def test_frozen_without_a_keyring_fails_closed(tmp_path: Path) -> None:
    result = _pmc(tmp_path, "--bundle-check")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["pmc_backend"] is None
    assert "never stores them in plain files" in report["pmc_backend_error"]


def test_folder_is_lean(tmp_path: Path) -> None:
    size = sum(p.lstat().st_size for p in FOLDER.rglob("*") if p.is_file() and not p.is_symlink())
    assert size < SIZE_GOAL, f"{size / 2**20:.0f} MiB"
    internal = FOLDER / "_internal"
    assert not list(internal.rglob("*WebEngine*")) and not list(internal.rglob("*Qt6Qml*"))
    assert not list(internal.rglob("translations"))
    assert not list(internal.glob("libgtk-3*"))


def test_tarball_installs_and_runs_for_a_user(tmp_path: Path) -> None:
    assert TARBALL.is_file(), f"{TARBALL} is missing"
    with tarfile.open(TARBALL) as tar:
        names = set(tar.getnames())
        assert {f"{TARBALL_NAME}/{n}" for n in ("install.sh", "uninstall.sh", "pmc/pmc")} <= names
        tar.extractall(tmp_path / "unpacked", filter="tar")
    stage = tmp_path / "unpacked" / TARBALL_NAME
    metainfo = (stage / "share/metainfo/com.icareus.pmc.metainfo.xml").read_text("utf-8")
    assert f'<release version="{pmc.__version__}"' in metainfo

    home = tmp_path / "home"
    home.mkdir()
    env = _env(tmp_path)
    env.pop("PMC_CONFIG_DIR")
    install = subprocess.run(
        [str(stage / "install.sh")],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    installed = home / ".local" / "bin" / "pmc"
    result = _pmc(tmp_path, "--version", exe=installed)
    assert result.stdout == f"pmc {pmc.__version__}\n", result.stderr
    uninstall = subprocess.run(
        [str(home / ".local/opt/pmc/uninstall.sh")],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert uninstall.returncode == 0, uninstall.stderr
    assert not installed.exists()
