"""The installers' own files, checked without building anything: desktop entry and AppStream
file against the freedesktop validators, install.sh/uninstall.sh on a stand-in program folder,
the ICO writer, the Inno Setup script's promises, and the Windows paths of PMC's code."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import keyring.backends.Windows
import pytest

import pmc
from installer import icons
from pmc import paths, secrets
from pmc.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "installer"
METAINFO = INSTALLER / "linux" / "com.icareus.pmc.metainfo.xml"
ISS = INSTALLER / "windows" / "pmc.iss"


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"needs {name} (apt install {package}; .ci/run installs it)")
    return found


def _run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, env=env)


# --------------------------------------------------------------------- Linux desktop files


def test_desktop_entry_is_valid() -> None:
    validate = _tool("desktop-file-validate", "desktop-file-utils")
    result = _run([validate, str(ROOT / "resources" / "pmc.desktop")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()


def test_metainfo_is_valid(tmp_path: Path) -> None:
    appstreamcli = _tool("appstreamcli", "appstream")
    text = METAINFO.read_text(encoding="utf-8")
    assert "@VERSION@" in text  # filled in by installer/dist.py from pmc.__version__
    filled = tmp_path / METAINFO.name
    filled.write_text(
        text.replace("@VERSION@", pmc.__version__).replace("@DATE@", "2025-01-31"),
        encoding="utf-8",
    )
    result = _run([appstreamcli, "validate", "--no-net", "--strict", str(filled)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert '<launchable type="desktop-id">pmc.desktop</launchable>' in text


def _stage(root: Path, version: str = "9.8.7") -> Path:
    """An unpacked tarball whose program is a shell script standing in for the build."""
    stage = root / f"pmc-{version}-linux-x86_64"
    program = stage / "pmc"
    (program / "_internal").mkdir(parents=True)
    (program / "_internal" / "marker").write_text(version)
    exe = program / "pmc"
    exe.write_text(f'#!/bin/sh\necho "pmc {version}"\n')
    exe.chmod(0o755)
    for script in ("install.sh", "uninstall.sh"):
        shutil.copy2(INSTALLER / "linux" / script, stage / script)
    share = stage / "share"
    for sub in (
        "applications",
        "metainfo",
        "icons/hicolor/scalable/apps",
        "icons/hicolor/256x256/apps",
    ):
        (share / sub).mkdir(parents=True)
    shutil.copy2(ROOT / "resources" / "pmc.desktop", share / "applications")
    shutil.copy2(ROOT / "resources" / "pmc.svg", share / "icons/hicolor/scalable/apps/pmc.svg")
    (share / "icons/hicolor/256x256/apps/pmc.png").write_bytes(b"\x89PNG stand-in")
    shutil.copy2(METAINFO, share / "metainfo")
    return stage


def _user_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PMC_"))}
    env.update(HOME=str(home), PATH=f"{home / '.local' / 'bin'}:/usr/bin:/bin")
    return env


@pytest.mark.parametrize("home_name", ["home", 'odd $home `with` "quotes" 100%'])
def test_install_upgrade_uninstall_for_the_user(tmp_path: Path, home_name: str) -> None:
    home = tmp_path / home_name
    home.mkdir()
    env = _user_env(home)
    kept = home / ".config" / "pmc" / "inventory.toml"
    kept.parent.mkdir(parents=True)
    kept.write_text("# the operator's inventory\n")

    first = _run([str(_stage(tmp_path / "a", "1.0.0") / "install.sh")], env=env)
    assert first.returncode == 0, first.stderr
    assert "PMC 1.0.0 is installed" in first.stdout
    prefix = home / ".local" / "opt" / "pmc"
    link = home / ".local" / "bin" / "pmc"
    assert link.is_symlink() and link.resolve() == (prefix / "pmc").resolve()
    entry = home / ".local" / "share" / "applications" / "pmc.desktop"
    assert (home / ".local/share/icons/hicolor/scalable/apps/pmc.svg").is_file()
    assert (home / ".local/share/icons/hicolor/256x256/apps/pmc.png").is_file()
    assert (home / ".local/share/metainfo/com.icareus.pmc.metainfo.xml").is_file()
    assert (prefix / "uninstall.sh").is_file()

    # The menu entry starts the installed program by its absolute path, quoted per the spec.
    lines = entry.read_text().splitlines()
    exec_line = next(line for line in lines if line.startswith("Exec="))
    assert exec_line.endswith(" gui")
    if shutil.which("desktop-file-validate"):
        result = _run(["desktop-file-validate", str(entry)])
        assert result.returncode == 0, result.stdout
    assert f"TryExec={prefix / 'pmc'}" in lines or "\\" in home_name

    # Upgrade: the new version replaces the old folder; nothing of the old one is left.
    second = _run([str(_stage(tmp_path / "b", "1.1.0") / "install.sh")], env=env)
    assert second.returncode == 0, second.stderr
    assert (prefix / "_internal" / "marker").read_text() == "1.1.0"
    assert not list(prefix.parent.glob("pmc.*"))  # no staging or old folders left behind

    gone = _run([str(prefix / "uninstall.sh")], env=env)
    assert gone.returncode == 0, gone.stderr
    assert not prefix.exists() and not link.exists() and not entry.exists()
    assert kept.read_text() == "# the operator's inventory\n"


def test_install_refuses_a_foreign_folder_and_keeps_a_foreign_link(tmp_path: Path) -> None:
    home = tmp_path / "home"
    foreign = home / ".local" / "opt" / "pmc"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("not PMC")
    result = _run([str(_stage(tmp_path / "a") / "install.sh")], env=_user_env(home))
    assert result.returncode == 1
    assert "is not a PMC installation" in result.stderr
    assert (foreign / "notes.txt").read_text() == "not PMC"

    shutil.rmtree(foreign)
    own = home / ".local" / "bin" / "pmc"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text("#!/bin/sh\n# someone else's pmc\n")
    result = _run([str(_stage(tmp_path / "b") / "install.sh")], env=_user_env(home))
    assert result.returncode == 0, result.stderr
    assert "is not a link; left alone" in result.stderr
    assert own.read_text() == "#!/bin/sh\n# someone else's pmc\n"


# ------------------------------------------------------------------------------ icons


def test_ico_holds_every_size_as_png() -> None:
    pngs = {size: b"\x89PNG" + bytes([size % 256]) * size for size in (16, 32, 256)}
    data = icons.ico_bytes(pngs)
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind, count) == (0, 1, 3)
    for index, size in enumerate(sorted(pngs)):
        width, height, _, _, planes, bpp, length, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * index
        )
        assert (width, height) == ((0, 0) if size == 256 else (size, size))
        assert (planes, bpp) == (1, 32)
        assert data[offset : offset + length] == pngs[size]


def test_icons_render_from_the_svg(tmp_path: Path) -> None:
    png, ico = icons.write_icons(tmp_path)
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack_from(">II", png.read_bytes(), 16) == (256, 256)  # IHDR width, height
    assert struct.unpack_from("<HHH", ico.read_bytes()) == (0, 1, len(icons.ICO_SIZES))


# ------------------------------------------------------------------------ Windows installer


def _iss_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in ISS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        match = re.fullmatch(r"\[(\w+)\]", line)
        if match:
            current = match.group(1)
            sections.setdefault(current, [])
        else:
            sections.setdefault(current, []).append(line)
    return sections


def test_inno_setup_script_keeps_its_promises() -> None:
    sections = _iss_sections()
    setup = dict(line.split("=", 1) for line in sections["Setup"])
    assert re.fullmatch(r"\{\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", setup["AppId"])
    # The version comes only from /DMyAppVersion (pmc.__version__), also in the file name.
    assert setup["AppVersion"] == "{#MyAppVersion}"
    assert setup["OutputBaseFilename"] == "pmc-{#MyAppVersion}-windows-setup"
    assert not re.search(r"\d+\.\d+\.\d+", ISS.read_text(encoding="utf-8").split("[Setup]")[1])
    assert "#error" in sections[""][1]  # compiling without a version is an error
    assert setup["DefaultDirName"].startswith("{autopf}\\")
    assert setup["ArchitecturesInstallIn64BitMode"] == "x64compatible"
    # Start menu always, desktop optional, both to the windowed pmcw.exe.
    assert any(line.startswith('Name: "{autoprograms}') for line in sections["Icons"])
    desktop = [line for line in sections["Icons"] if line.startswith('Name: "{autodesktop}')]
    assert desktop and all("Tasks: desktopicon" in line for line in desktop)
    assert "Flags: unchecked" in sections["Tasks"][0]
    # User data survives an uninstall: nothing is deleted beyond what was installed, and the
    # only extra deletion on install is the program's own library folder.
    assert "UninstallDelete" not in sections
    assert sections["InstallDelete"] == ['Type: filesandordirs; Name: "{app}\\_internal"']
    for line in sections["Files"]:
        source = re.search(r'Source: "([^"]+)"', line)
        assert source is not None
        if "{#" not in source.group(1):
            assert (ISS.parent / source.group(1).replace("\\", "/")).exists(), line


def test_windows_build_names_come_from_the_package_version() -> None:
    spec = (INSTALLER / "pmc.spec").read_text(encoding="utf-8")
    assert 'name="pmcw", console=False' in spec  # the shortcuts' target has no console
    dist = (INSTALLER / "dist.py").read_text(encoding="utf-8")
    assert 'f"/DMyAppVersion={VERSION}"' in dist and "VERSION = pmc.__version__" in dist


# ----------------------------------------------------------- PMC's Windows-specific paths


def test_example_inventory_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    example = INSTALLER / "inventory.example.toml"
    assert cli_main(["inventory", "validate", str(example)]) == 0
    assert "valid (1 clusters, 2 servers)" in capsys.readouterr().out


def test_paths_honour_overrides_with_windows_style_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    appdata = tmp_path / "AppData" / "Local" / "pmc"
    monkeypatch.setenv("PMC_CONFIG_DIR", str(appdata))
    monkeypatch.setenv("PMC_DATA_DIR", f"  {appdata}  ")  # stray spaces from a .bat file
    monkeypatch.setenv("PMC_LOG_DIR", str(appdata / "Logs"))
    assert paths.default_inventory_path() == appdata / "inventory.toml"
    assert paths.state_db_path() == appdata / "pmc.sqlite3"
    assert paths.log_dir() == appdata / "Logs"
    monkeypatch.setenv("PMC_CONFIG_DIR", "")
    assert paths.config_dir() != appdata  # empty means "not set": platformdirs decides


def test_windows_credential_locker_is_accepted_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows PMC picks keyring's WinVaultKeyring, and refuses nothing else by default."""
    monkeypatch.setattr(secrets, "_platform", lambda: "win32")
    # Here (Linux) the backend says it cannot run; on Windows its priority is 5.
    with pytest.raises(Exception, match="Credential Manager"):
        secrets.backend_name()

    class WinVaultKeyring(keyring.backends.Windows.WinVaultKeyring):
        priority = 5  # what it reports on Windows (with pywin32-ctypes)

    WinVaultKeyring.__module__ = "keyring.backends.Windows"
    monkeypatch.setattr(keyring.backends.Windows, "WinVaultKeyring", WinVaultKeyring)
    assert secrets.backend_name() == "keyring.backends.Windows.WinVaultKeyring"
