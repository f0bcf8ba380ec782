"""`pmc bundle inspect`, and the exit code of a refused bundle (no servers needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmc.cli import main
from tests.bundle.test_archive import good_bundle


def test_inspect_shows_what_the_bundle_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "b.pmcbundle"
    path.write_bytes(good_bundle())
    assert main(["bundle", "inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "source: lab/main (127.168.1.105)" in out
    assert "networks" in out and "3 rows" in out
    assert "members verified" in out


def test_inspect_refuses_a_damaged_bundle_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "b.pmcbundle"
    path.write_bytes(good_bundle()[:3000])
    assert main(["bundle", "inspect", str(path)]) == 2
    assert "truncated" in capsys.readouterr().err


def test_import_of_an_unknown_server_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "inventory.toml"
    inventory.write_text("")
    path = tmp_path / "b.pmcbundle"
    path.write_bytes(good_bundle())
    code = main(["--inventory", str(inventory), "import", str(path), "nowhere/main", "--dry-run"])
    assert code == 2
    assert "no server 'nowhere/main'" in capsys.readouterr().err
