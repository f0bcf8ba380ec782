"""``pmc --version`` and ``pmc --help`` stay fast: they import no command's module, and the
command given is the only one loaded (pmc.cli.COMMANDS)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pmc.cli import COMMANDS, command_of

PROBE = """
import json, sys
from pmc.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith("pmc"))))
"""


def loaded_after(*argv: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    return list(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_version_and_help_load_no_command(option: str) -> None:
    assert loaded_after(option) == ["pmc", "pmc.cli"]


def test_a_command_loads_its_own_module_only() -> None:
    loaded = loaded_after("--inventory", "x.toml", "bundle", "--help")
    commands = {m for m in loaded if m.startswith("pmc.cli.")}
    assert commands == {"pmc.cli.bundle", "pmc.cli.common", "pmc.cli.connect"}


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    from pmc.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name, text in COMMANDS.items():
        assert f"    {name} " in out and text in out


def test_the_command_is_the_first_word_past_the_global_options() -> None:
    assert command_of(["-v", "--inventory", "setup", "sync", "run"]) == "sync"
    assert command_of(["--inventory=x.toml", "lab", "up"]) == "lab"
    assert command_of(["--version"]) is None
