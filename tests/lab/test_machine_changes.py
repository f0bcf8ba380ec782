"""A lab keeps working while the machine around it changes (issue 13's refused passwords).

On a new machine something replaced account files while the lab ran (a package adding its
system user, a provisioning agent, ``useradd``/``chpasswd`` on the host: each writes a new
file and renames it over the old). Linux then detaches every bind mount of the old file in the
servers' mount namespaces: with ``/etc/shadow`` bound as a single file, sshd read the
machine's shadow and refused every lab password (root, operator, viewer), and a ``chpasswd``
inside a server wrote the machine's file.

The scenario runs in a child process inside a private mount namespace whose ``/etc`` is a copy
(``unshare -m`` + a bind of the copy): the renames happen there, so this machine's own
``/etc`` is never touched, while the lab started in that namespace sees the copy as "the
machine's /etc", exactly as a lab sees the real one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.lab import LabFactory

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SCENARIO = r"""
import base64, json, os, shutil, sys
import paramiko
from pmc import lab as lab_api

def login(srv, user, password):
    client = paramiko.SSHClient()
    kind, blob = srv.host_key().split()[:2]
    client.get_host_keys().add(
        srv.management_address, kind, paramiko.PKey.from_type_string(kind, base64.b64decode(blob))
    )
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(srv.management_address, username=user, password=password,
                       allow_agent=False, look_for_keys=False, timeout=10, auth_timeout=20)
        return "accepted"
    except paramiko.AuthenticationException:
        return "refused"
    finally:
        client.close()

def logins(cluster):
    main = cluster.servers["main"]
    return {user: cluster.call_in_operator_namespace(login, main, user, main.password_of(user))
            for user in ("root", "operator", "viewer")}

def replace_as_useradd_does(path):
    new = path + "+"
    shutil.copy2(path, new)
    st = os.stat(path)
    os.chown(new, st.st_uid, st.st_gid)
    os.replace(new, path)

cluster = lab_api.up(lab_id=sys.argv[1], servers=2)
try:
    result = {"before": logins(cluster)}
    for name in ("shadow", "passwd", "group", "hosts"):
        replace_as_useradd_does("/etc/" + name)
    result["after"] = logins(cluster)
    machine_shadow = open("/etc/shadow").read()
    done = cluster.servers["main"].run(["chpasswd"], input="root:Changed-in-the-server-1\n",
                                       check=False)
    result["chpasswd"] = done.returncode
    result["machine_shadow_changed"] = open("/etc/shadow").read() != machine_shadow
finally:
    lab_api.down(sys.argv[1])
print(json.dumps(result))
"""


def test_account_files_replaced_on_the_machine_leave_the_lab_logins_working(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    del lab_factory  # only for its skip when this machine cannot run a lab
    for tool in ("unshare", "mount"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    copy = tmp_path / "etc"
    subprocess.run(["cp", "-a", "/etc", str(copy)], check=True)
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO)
    lab_id = f"t{os.getpid()}-etc"
    repo = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount --bind "$1" /etc && exec "$2" "$3" "$4"', "sh",
         str(copy), sys.executable, str(script), lab_id],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": repo}, cwd=repo,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    everyone = {"root": "accepted", "operator": "accepted", "viewer": "accepted"}
    assert result["before"] == everyone
    assert result["after"] == everyone, "a rename over the machine's account files reached the lab"
    assert result["chpasswd"] == 0
    assert result["machine_shadow_changed"] is False
