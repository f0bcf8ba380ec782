"""`pmc inventory …` end to end: messages with lines, exit codes, edits, secrets."""

from __future__ import annotations

import io
import os
import re
import secrets as random
import subprocess
import sys
from pathlib import Path

import pytest

from pmc import secrets
from pmc.cli import main
from pmc.inventory_file import load_inventory
from tests.fixtures.keyring import PmcDirs, SecretServiceSession

# Every rule of the inventory, each on its own line (the numbers are asserted below).
BROKEN = """\
# every mistake PMC must catch
version = 1

[[clusters]]
name = "studio"
architecture = "combined"

[[clusters.servers]]
name = "main"
management_address = "192.168.1.105"
redundancy_address = "172.17.59.128"
role = "main"

[[clusters.servers]]
name = "backup"
managment_address = "192.168.1.108"
management_address = "192.168.1.018"
redundancy_address = "172.17.59.129"
role = "backup"
ssh_port = 70000
auth = "key"

[clusters.servers.layout]
api_port = 0

[[clusters]]
name = "admin-cluster"
architecture = "admin-player"

[[clusters.servers]]
name = "admin"
management_address = "192.168.2.10"
role = "admin"

[[clusters.servers]]
name = "admin"
management_address = "192.168.2.11"
role = "main"

[[clusters.servers]]
name = "player"
management_address = "192.158.2.12"
role = "player"

[[clusters.servers]]
name = "player 2"
management_address = "192.168.2.13"
redundancy_address = "172.17.59.128"
role = "player"

[[clusters]]
name = "lonely"
architecture = "web-one-way"

[[clusters.servers]]
name = "only"
management_address = "192.168.3.1"
redundancy_address = "192.168.3.1"
"""

EXPECTED = [
    (14, 'auth = "key" needs key_file', ""),
    (16, "unknown setting 'managment_address'", "did you mean 'management_address'"),
    (17, "'192.168.1.018' has a number with a leading zero", ""),
    (20, "ssh_port 70000 is not a port number", ""),
    (24, "layout override api_port", "1–65535"),
    (36, "another server of this cluster has the same name (line 31)", ""),
    (38, "role 'main' does not fit architecture 'admin-player'", ""),
    (42, "192.158.2.12 is outside 192.168.2.0/24", ""),
    (48, "redundancy_address 172.17.59.128 is already the redundancy_address of server 'main'",
     "line 11"),
    (51, "cluster 'lonely' has 1 server", "needs at least 2"),
    (51, "cluster 'lonely' has no backup server", ""),
    (58, "management_address and redundancy_address are both 192.168.3.1", ""),
]  # fmt: skip


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _check_report(out: str, path: Path) -> None:
    lines = out.splitlines()
    assert all(line.startswith(f"{path}:") for line in lines), lines
    for line_no, fragment, extra in EXPECTED:
        prefix = f"{path}:{line_no}: "
        matching = [line for line in lines if line.startswith(prefix) and fragment in line]
        assert matching, f"no report of {fragment!r} at line {line_no}:\n{out}"
        assert extra in matching[0]
    assert len(lines) == len(EXPECTED), out


def test_validate_reports_every_rule_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    code, out, err = _run(capsys, "inventory", "validate", str(path))
    assert code == 1
    _check_report(out, path)
    assert err == f"{path}: {len(EXPECTED)} problems\n"


def test_validate_as_a_command(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pmc", "--inventory", str(path), "inventory", "validate"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    _check_report(result.stdout, path)


def test_validate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        '[[clusters]]\nname = "lab"\narchitecture = "manual"\n'
        '[[clusters.servers]]\nname = "main"\nmanagement_address = "127.168.1.105"\n',
        encoding="utf-8",
    )
    assert _run(capsys, "inventory", "validate", str(good)) == (
        0,
        f"{good}: valid (1 clusters, 1 servers)\n",
        "",
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('[[clusters]]\nname = "lab\n', encoding="utf-8")
    code, out, err = _run(capsys, "inventory", "validate", str(bad))
    assert (code, out) == (2, "")
    assert re.match(rf"pmc: {re.escape(str(bad))}:2:\d+: the inventory is not valid TOML", err)
    code, _, err = _run(capsys, "inventory", "validate", str(tmp_path / "missing.toml"))
    assert code == 2
    assert "does not exist" in err


def test_layout_folders_outside_playouts_layout_are_refused_with_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sync removes files below a data folder and an import renames it as root: /etc, /,
    /usr or a path with '..' must never be one."""
    path = tmp_path / "layout.toml"
    path.write_text(
        '[[clusters]]\nname = "lab"\narchitecture = "manual"\n'
        '[[clusters.servers]]\nname = "main"\nmanagement_address = "127.168.1.105"\n'
        "[clusters.servers.layout]\n"
        'carousel_dir = "/etc"\n'
        'av_dir = "/"\n'
        'ts_dir = "/usr/share/ts"\n'
        'db_dir = "/opt/playout/../../etc"\n'
        'copy_config_log = "/var/log/playout/copy.log"\n'
        'api_config_dir = "/opt/icareus/api/config"\n',
        encoding="utf-8",
    )
    code, out, _ = _run(capsys, "inventory", "validate", str(path))
    assert code == 1
    outside = (
        "is outside the folders of Playout's layout. Give a folder below /opt, /var/log, "
        "/etc/ssh or /root/.ssh, as in the vendor's manual: PMC changes and removes files "
        "there as root"
    )
    where = "server 'main' of cluster 'lab': layout override"
    assert out.splitlines() == [
        f"{path}:8: {where} carousel_dir: carousel_dir '/etc' {outside}",
        f"{path}:9: {where} av_dir: av_dir '/' {outside}",
        f"{path}:10: {where} ts_dir: ts_dir '/usr/share/ts' {outside}",
        f"{path}:11: {where} db_dir: db_dir '/opt/playout/../../etc' is not a plain path. Write "
        "it without '..', '.', doubled or trailing slashes: '/etc'",
    ]


def test_pmcs_own_folder_lies_below_run_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cluster lock's folder is made and opened to all (chmod 755) by a root process:
    /root or /etc must never be one, and /run is for PMC's own folder only."""
    path = tmp_path / "layout.toml"
    head = (
        '[[clusters]]\nname = "lab"\narchitecture = "manual"\n'
        '[[clusters.servers]]\nname = "main"\nmanagement_address = "127.168.1.105"\n'
        "[clusters.servers.layout]\n"
    )
    path.write_text(
        head + 'pmc_run_dir = "/root"\ncarousel_dir = "/run/carousel"\n', encoding="utf-8"
    )
    code, out, _ = _run(capsys, "inventory", "validate", str(path))
    assert code == 1
    where = "server 'main' of cluster 'lab': layout override"
    assert out.splitlines() == [
        f"{path}:8: {where} pmc_run_dir: pmc_run_dir '/root' is outside /run. Give a folder "
        "below /run: PMC's cluster lock lives there, on a tmpfs that a reboot empties, in a "
        "folder PMC makes as root",
        f"{path}:9: {where} carousel_dir: carousel_dir '/run/carousel' is outside the folders "
        "of Playout's layout. Give a folder below /opt, /var/log, /etc/ssh or /root/.ssh, as "
        "in the vendor's manual: PMC changes and removes files there as root",
    ]
    path.write_text(head + 'pmc_run_dir = "/run/pmc-lab"\n', encoding="utf-8")
    code, out, _ = _run(capsys, "inventory", "validate", str(path))
    assert code == 0, out


# The manual's two typos (192.158.1.105, 192.168.1.018) in one cluster with a correct spare.
TYPOS = """\
[[clusters]]
name = "studio"
architecture = "manual"

[[clusters.servers]]
name = "main"
management_address = "192.158.1.105"

[[clusters.servers]]
name = "backup"
management_address = "192.168.1.018"

[[clusters.servers]]
name = "spare"
management_address = "192.168.1.110"
"""


def test_validate_reports_both_typos_of_the_manual_on_their_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "typos.toml"
    path.write_text(TYPOS, encoding="utf-8")
    code, out, _ = _run(capsys, "inventory", "validate", str(path))
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert (
        lines[0].startswith(f"{path}:7: ")
        and "192.158.1.105 is outside 192.168.1.0/24" in (lines[0])
    )
    assert lines[1].startswith(f"{path}:11: ") and "leading zero" in lines[1]
    assert "spare" not in "".join(line.split(":", 2)[2].split("(")[0] for line in lines)


def _add(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    password: str,
    *argv: str,
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return _run(capsys, "inventory", "add-server", "--password-stdin", *argv)


@pytest.mark.keyring
def test_build_a_cluster_and_take_it_apart(
    secret_service: SecretServiceSession,
    isolated_dirs: PmcDirs,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    password = random.token_urlsafe(16)
    common = ("--cluster", "lab", "--architecture", "combined")
    code, out, err = _add(
        capsys, monkeypatch, password, *common, "--name", "main",
        "--management", "127.168.1.105", "--redundancy", "127.17.59.128",
    )  # fmt: skip
    assert code == 0, err
    assert "its SSH password is in the OS keyring" in out
    assert "note: cluster 'lab' has no backup server" in err
    inventory_path = isolated_dirs.config / "inventory.toml"
    assert inventory_path.exists()

    # bad input: exit 2, the file and the keyring stay as they were
    before = inventory_path.read_bytes()
    for bad in (
        ("--name", "backup", "--management", "127.168.1.018", "--redundancy", "127.17.59.129"),
        ("--name", "backup", "--management", "127.168.1.105", "--redundancy", "127.17.59.129"),
        ("--name", "backup", "--management", "127.168.1.108"),
        ("--name", "main", "--management", "127.168.1.108", "--redundancy", "127.17.59.129"),
        ("--name", "b2", "--management", "127.168.1.108", "--redundancy", "127.17.59.129",
         "--role", "main"),
    ):  # fmt: skip
        code, out, err = _add(capsys, monkeypatch, password, *common, *bad)
        assert code == 2, (bad, err)
        assert "nothing was changed" in err
        assert inventory_path.read_bytes() == before
    assert not secrets.has_password("lab", "backup")
    assert not secrets.has_password("lab", "b2")

    code, out, err = _add(
        capsys, monkeypatch, password, "--cluster", "lab", "--name", "backup",
        "--management", "127.168.1.108", "--redundancy", "127.17.59.129",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert _run(capsys, "inventory", "validate")[0] == 0
    lab = load_inventory(inventory_path).inventory.cluster("lab")
    assert [(s.name, s.role.value) for s in lab.servers] == [("main", "main"), ("backup", "backup")]

    code, out, _ = _run(capsys, "inventory", "list")
    assert code == 0
    assert re.search(r"lab\s+combined\s+backup\s+backup\s+127\.168\.1\.108\s+127\.17\.59\.129", out)
    code, out, _ = _run(capsys, "inventory", "show", "lab")
    assert "management address  127.168.1.105 (eth3)" in out
    assert _run(capsys, "inventory", "show", "nope")[0] == 2

    code, out, err = _run(
        capsys, "inventory", "remove-server", "--cluster", "lab", "--name", "main"
    )
    assert code == 0, err
    assert not secrets.has_password("lab", "main")
    assert secrets.has_password("lab", "backup")
    code, out, err = _run(capsys, "inventory", "remove-cluster", "lab")
    assert code == 0, err
    assert not secrets.has_password("lab", "backup")
    assert load_inventory(inventory_path).inventory.clusters == ()


@pytest.mark.keyring
def test_password_goes_to_the_keyring_and_nowhere_else(
    secret_service: SecretServiceSession, isolated_dirs: PmcDirs
) -> None:
    password = random.token_urlsafe(24)
    result = subprocess.run(
        [
            sys.executable, "-m", "pmc", "inventory", "add-server", "--cluster", "lab",
            "--name", "main", "--management", "127.168.1.105", "--redundancy",
            "127.17.59.128", "--architecture", "manual", "--password-stdin",
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for stream in (result.stdout, result.stderr):
        assert (password in stream) is False
    files = [p for d in isolated_dirs.all() if d.exists() for p in d.rglob("*") if p.is_file()]
    assert isolated_dirs.config / "inventory.toml" in files
    leaks = [str(p) for p in files if password.encode() in p.read_bytes()]
    assert leaks == []
    same = secrets.get_password("lab", "main") == password
    assert same, "the keyring returned something else"
    secrets.forget_server("lab", "main")


def test_editing_keeps_the_operators_comments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "inv.toml"
    path.write_text(
        '# our head-end\n[[clusters]]\nname = "lab"  # rack 4\narchitecture = "admin-player"\n'
        '\n[[clusters.servers]]\nname = "admin"\nmanagement_address = "127.168.1.105"\n'
        'role = "admin"\nauth = "agent"  # via the jump host\n',
        encoding="utf-8",
    )
    code, _, err = _run(
        capsys, "--inventory", str(path), "inventory", "add-server", "--cluster", "lab",
        "--name", "player", "--management", "127.168.1.108", "--auth", "agent",
    )  # fmt: skip
    assert code == 0, err
    text = path.read_text(encoding="utf-8")
    for comment in ("# our head-end", 'name = "lab"  # rack 4', 'auth = "agent"  # via the jump'):
        assert comment in text
    assert 'role = "player"' in text
    assert _run(capsys, "inventory", "validate", str(path))[0] == 0


def test_edits_are_refused_while_the_file_has_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "inv.toml"
    path.write_text(BROKEN, encoding="utf-8")
    code, _, err = _run(
        capsys, "--inventory", str(path), "inventory", "add-cluster", "--name", "new",
    )  # fmt: skip
    assert code == 2
    assert f"{path}:16: unknown setting 'managment_address'" in err
    assert path.read_text(encoding="utf-8") == BROKEN


def test_password_without_a_terminal_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    path = tmp_path / "inv.toml"
    code, _, err = _run(
        capsys, "--inventory", str(path), "inventory", "add-server", "--cluster", "lab",
        "--name", "main", "--management", "127.168.1.105", "--architecture", "manual",
    )  # fmt: skip
    assert code == 2
    assert "--password-stdin" in err
    assert not path.exists()
