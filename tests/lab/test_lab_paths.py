"""The lab from a checkout under /tmp, run by a virtualenv reached through a symlink.

CI's clone may live anywhere, /tmp included, and a virtualenv may be reached through a link.
A lab server has a private /tmp, so any path the lab writes into a server (the stand-ins'
``#!`` lines, the services' command lines, PYTHONPATH) must be the resolved one: with the
link's path, ``firewall-cmd`` inside a server failed with "command not found".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pmc.lab import interpreter
from tests.fixtures.lab import LabFactory

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SCENARIO = r"""
import json, sys
import pmc
from pmc import lab as lab_api

def inside(cluster):
    main = cluster.servers["main"]
    return {
        "firewall-cmd": main.run(["firewall-cmd", "--state"], check=False).stdout.strip(),
        "systemctl": main.run(["systemctl", "is-active", "playout-api"],
                              check=False).stdout.strip(),
    }

cluster = lab_api.up(lab_id=sys.argv[1], servers=2)
try:
    result = {"pmc": pmc.__file__, "up": inside(cluster)}
    cluster.reset()
    result["reset"] = inside(cluster)
finally:
    lab_api.down(sys.argv[1])
print(json.dumps(result))
"""


def test_a_checkout_under_tmp_run_through_a_linked_virtualenv(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    del lab_factory  # only for its skip when this machine cannot run a lab
    assert str(tmp_path).startswith("/tmp/")  # the servers' /tmp is private
    checkout = tmp_path / "checkout"
    shutil.copytree(
        Path(interpreter.code_root()) / "pmc",
        checkout / "pmc",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    linked_venv = tmp_path / "venv"
    linked_venv.symlink_to(os.path.realpath(sys.prefix), target_is_directory=True)
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO)
    python = linked_venv / "bin" / Path(sys.executable).name
    proc = subprocess.run(
        [str(python), str(script), f"t{os.getpid()}-paths"],
        capture_output=True, text=True, timeout=300, check=False, cwd="/",
        env={**os.environ, "PYTHONPATH": str(checkout)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["pmc"].startswith(str(checkout))
    assert result["up"] == {"firewall-cmd": "running", "systemctl": "active"}
    assert result["reset"] == {"firewall-cmd": "running", "systemctl": "active"}
