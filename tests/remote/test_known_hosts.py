"""PMC's known_hosts is shared by every PMC process of the operator (the app, `pmc` commands,
the sync daemon): changes are locked and merged, never lost. Real processes, real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import paramiko

from pmc.remote.host_keys import KnownHosts, fingerprint, host_key_algorithms

# A second PMC process: makes its KnownHosts, says "ready", then adds or removes one key per
# line it reads ("add HOST" with a new key; "remove HOST"), answering "done" to each.
CHILD = """
import sys
import paramiko
from pmc.remote.host_keys import KnownHosts

known = KnownHosts(sys.argv[1])
print("ready", flush=True)
for line in sys.stdin:
    verb, host = line.split()
    if verb == "add":
        known.add(host, paramiko.ECDSAKey.generate())
    elif verb == "remove":
        known.remove(host)
    elif verb == "many":
        for i in range(40):
            known.add(f"{host}-{i}", paramiko.ECDSAKey.generate())
    print("done", flush=True)
"""


class Child:
    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.readline() == "ready"

    def readline(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def ask(self, line: str) -> None:
        self.send(line)
        assert self.readline() == "done"

    def close(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0
        self.process.stdout.close()


def _hosts(path: Path) -> set[str]:
    return {line.split()[0] for line in path.read_text().splitlines() if line.strip()}


def test_two_processes_that_read_the_file_before_either_wrote_keep_both_keys(
    tmp_path: Path,
) -> None:
    """Each process loaded the file when it started; the second one's change must not write
    back its old copy over the first one's."""
    path = tmp_path / "known_hosts"
    first, second = Child(path), Child(path)  # both have read the (empty) file
    try:
        first.ask("add 127.168.1.105")
        second.ask("add 127.168.1.108")
        assert _hosts(path) == {"127.168.1.105", "127.168.1.108"}
        first.ask("remove 127.168.1.108")  # a removal is merged the same way
        second.ask("add [127.0.0.1]:2222")
        assert _hosts(path) == {"127.168.1.105", "[127.0.0.1]:2222"}
    finally:
        first.close()
        second.close()


def test_two_processes_adding_at_the_same_time_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    children = [Child(path) for _ in range(2)]
    try:
        for number, child in enumerate(children):
            child.send(f"many host{number}")
        for child in children:
            assert child.readline() == "done"
    finally:
        for child in children:
            child.close()
    assert _hosts(path) == {f"host{n}-{i}" for n in range(2) for i in range(40)}


def test_a_process_sees_the_keys_another_one_added(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    mine = KnownHosts(path)
    other = Child(path)
    try:
        other.ask("add 127.168.1.105")
    finally:
        other.close()
    assert list(mine.keys_for("127.168.1.105")) != []
    key = paramiko.ECDSAKey.generate()
    mine.add("127.168.1.108", key)
    assert _hosts(path) == {"127.168.1.105", "127.168.1.108"}
    assert fingerprint(KnownHosts(path).keys_for("127.168.1.108")[key.get_name()]) == (
        fingerprint(key)
    )


def test_a_known_host_may_use_only_the_key_types_pmc_holds_for_it() -> None:
    offered = (
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "rsa-sha2-512", "rsa-sha2-256",
    )  # fmt: skip
    assert host_key_algorithms(["ssh-ed25519"], offered) == ("ssh-ed25519",)
    assert host_key_algorithms(["ssh-rsa"], offered) == ("rsa-sha2-512", "rsa-sha2-256")
    assert host_key_algorithms(["ecdsa-sha2-nistp256", "ssh-ed25519"], offered) == (
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
    )
    assert host_key_algorithms(["ssh-dss"], offered) == ()  # nothing it could still use
