"""The installers, without PyInstaller or Windows: installer/dist.py builds the Linux tarball
around a stand-in program folder and the tests check what is in it (desktop entry and AppStream
file against the freedesktop validators, the version filled in), install, upgrade and
uninstall from it; the PyInstaller spec is run with PyInstaller's build steps recorded, and the
Windows installer step with a stand-in compiler; the Inno Setup script's promises; the ICO
writer; the Windows paths of PMC's code."""

from __future__ import annotations

import os
import platform
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from xml.etree import ElementTree

import keyring.backends.Windows
import pytest

import pmc
from installer import dist, icons
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


def _tarball(root: Path, monkeypatch: pytest.MonkeyPatch, version: str = pmc.__version__) -> Path:
    """installer/dist.py's Linux tarball of ``version`` around a stand-in program folder (a
    script that prints the version, where PyInstaller's build goes), unpacked in ``root``."""
    program = root / "built" / "pmc"
    (program / "_internal").mkdir(parents=True)
    (program / "_internal" / "marker").write_text(version)
    exe = program / "pmc"
    exe.write_text(f'#!/bin/sh\necho "pmc {version}"\n')
    exe.chmod(0o755)
    monkeypatch.setattr(dist, "VERSION", version)
    monkeypatch.setattr(dist, "DIST", root / "dist")
    monkeypatch.setattr(dist, "BUILD", root / "build")
    (root / "dist").mkdir()
    tarball = dist.linux_tarball(program)
    assert tarball.parent == root / "dist"
    with tarfile.open(tarball) as tar:
        tar.extractall(root / "unpacked", filter="data")
    (stage,) = (root / "unpacked").iterdir()
    assert tarball.name == f"{stage.name}.tar.gz"
    return stage


def test_linux_tarball_holds_a_valid_desktop_entry_and_metainfo_of_this_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    appstreamcli = _tool("appstreamcli", "appstream")
    validate = _tool("desktop-file-validate", "desktop-file-utils")
    stage = _tarball(tmp_path, monkeypatch)
    assert stage.name == f"pmc-{pmc.__version__}-linux-{platform.machine()}"
    share = stage / "share"
    entry = share / "applications" / "pmc.desktop"
    result = _run([validate, str(entry)])
    assert result.returncode == 0, result.stdout + result.stderr
    metainfo = share / "metainfo" / METAINFO.name
    result = _run([appstreamcli, "validate", "--no-net", "--strict", str(metainfo)])
    assert result.returncode == 0, result.stdout + result.stderr
    component = ElementTree.parse(metainfo).getroot()
    release = component.find("releases/release")
    assert release is not None and release.get("version") == pmc.__version__
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", release.get("date", ""))
    launchable = component.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert (share / "applications" / str(launchable.text)).samefile(entry)
    png = (share / "icons/hicolor/256x256/apps/pmc.png").read_bytes()
    assert png.startswith(b"\x89PNG") and struct.unpack_from(">II", png, 16) == (256, 256)
    assert (share / "icons/hicolor/scalable/apps/pmc.svg").is_file()
    for script in ("install.sh", "uninstall.sh"):
        assert os.access(stage / script, os.X_OK), script
    assert _run([str(stage / "pmc" / "pmc")]).stdout == f"pmc {pmc.__version__}\n"


def _user_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PMC_"))}
    env.update(HOME=str(home), PATH=f"{home / '.local' / 'bin'}:/usr/bin:/bin")
    return env


@pytest.mark.parametrize("home_name", ["home", 'odd $home `with` "quotes" 100%'])
def test_install_upgrade_uninstall_for_the_user(
    tmp_path: Path, home_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / home_name
    home.mkdir()
    env = _user_env(home)
    kept = home / ".config" / "pmc" / "inventory.toml"
    kept.parent.mkdir(parents=True)
    kept.write_text("# the operator's inventory\n")

    first = _run([str(_tarball(tmp_path / "a", monkeypatch, "1.0.0") / "install.sh")], env=env)
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
    second = _run([str(_tarball(tmp_path / "b", monkeypatch, "1.1.0") / "install.sh")], env=env)
    assert second.returncode == 0, second.stderr
    assert (prefix / "_internal" / "marker").read_text() == "1.1.0"
    assert not list(prefix.parent.glob("pmc.*"))  # no staging or old folders left behind

    gone = _run([str(prefix / "uninstall.sh")], env=env)
    assert gone.returncode == 0, gone.stderr
    assert not prefix.exists() and not link.exists() and not entry.exists()
    assert kept.read_text() == "# the operator's inventory\n"


def test_install_refuses_a_foreign_folder_and_keeps_a_foreign_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    foreign = home / ".local" / "opt" / "pmc"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("not PMC")
    result = _run([str(_tarball(tmp_path / "a", monkeypatch) / "install.sh")], env=_user_env(home))
    assert result.returncode == 1
    assert "is not a PMC installation" in result.stderr
    assert (foreign / "notes.txt").read_text() == "not PMC"

    shutil.rmtree(foreign)
    own = home / ".local" / "bin" / "pmc"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text("#!/bin/sh\n# someone else's pmc\n")
    result = _run([str(_tarball(tmp_path / "b", monkeypatch) / "install.sh")], env=_user_env(home))
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


class _PyInstallerSteps:
    """PyInstaller's spec-file names (Analysis, PYZ, EXE, COLLECT), recording each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def _record(self, kind: str) -> Any:
        def step(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((kind, args, kwargs))
            return SimpleNamespace(
                kind=kind,
                args=args,
                kwargs=kwargs,
                binaries=[],
                datas=[],
                scripts=["entry"],
                pure=["pure"],
            )

        return step

    def names(self, spec: Path, work: Path) -> dict[str, Any]:
        return {
            "__file__": str(spec),
            "SPECPATH": str(spec.parent),
            "workpath": str(work),
            **{kind: self._record(kind) for kind in ("Analysis", "PYZ", "EXE", "COLLECT")},
        }

    def of(self, kind: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(a, k) for name, a, k in self.calls if name == kind]


@pytest.mark.parametrize("platform_name", ["linux", "win32"])
def test_pyinstaller_spec_builds_pmc_and_on_windows_a_windowed_twin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform_name: str
) -> None:
    spec = INSTALLER / "pmc.spec"
    steps = _PyInstallerSteps()
    names = steps.names(spec, tmp_path)
    import PyInstaller.utils.hooks  # noqa: F401 - imported as on this machine, before the switch

    monkeypatch.setattr(sys, "platform", platform_name)
    exec(compile(spec.read_text(encoding="utf-8"), str(spec), "exec"), names)
    monkeypatch.undo()
    ((scripts,), analysis) = steps.of("Analysis")[0]
    assert scripts == [str(INSTALLER / "entry.py")]
    assert "pmc.cli.lab" in analysis["excludes"]  # `pmc lab` stays out of the build
    exes = [(kw["name"], kw["console"]) for _, kw in steps.of("EXE")]
    if platform_name == "win32":  # pmcw.exe: the shortcuts' target, without a console window
        assert exes == [("pmc", True), ("pmcw", False)]
    else:
        assert exes == [("pmc", True)]
    ((collected, collect),) = steps.of("COLLECT")
    assert [c.kwargs["name"] for c in collected if getattr(c, "kind", "") == "EXE"] == [
        name for name, _ in exes
    ]
    assert collect["name"] == "pmc"


def test_windows_installer_is_compiled_with_the_package_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dist.py's Windows step calls Inno Setup's compiler (a stand-in here that records its
    arguments) with pmc.__version__, the build folder and the icon."""
    argv_file = tmp_path / "iscc-argv"
    iscc = tmp_path / "ISCC"
    iscc.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {shlex.quote(str(argv_file))}\n')
    iscc.chmod(0o755)
    monkeypatch.setenv("ISCC", str(iscc))
    monkeypatch.setattr(dist, "DIST", tmp_path / "dist")
    monkeypatch.setattr(dist, "BUILD", tmp_path / "build")
    built = tmp_path / "dist" / "pmc"
    setup = dist.windows_installer(built)
    assert setup == tmp_path / "dist" / f"pmc-{pmc.__version__}-windows-setup.exe"
    assert argv_file.read_text().splitlines() == [
        f"/DMyAppVersion={pmc.__version__}",
        f"/DBuildDir={built}",
        f"/DIconFile={tmp_path / 'build' / 'icons' / 'pmc.ico'}",
        f"/O{tmp_path / 'dist'}",
        str(ISS),
    ]
    assert (tmp_path / "build" / "icons" / "pmc.ico").read_bytes()[:4] == b"\0\0\1\0"


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
