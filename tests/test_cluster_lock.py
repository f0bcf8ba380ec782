"""The cluster lock without servers: who holds it, and the lock on this computer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pmc.cluster_lock import Holder, LocalLock

HOLD = """
import sys, time
from pathlib import Path
from pmc.cluster_lock import Holder, LocalLock
lock = LocalLock(Path(sys.argv[1]))
taken, other = lock.acquire(Holder("alice", "desk-1", "9.9", "sync backup from main", 0.0, 7))
print("taken" if taken else "refused", flush=True)
time.sleep(600)  # deliberate: holds the lock until the test kills this process
"""


def test_holder_round_trip_and_words() -> None:
    holder = Holder("alice", "desk-1", "1.2.3", "Import into backup", 1_700_000_000.0, 42)
    text = "\n".join(holder.lines())
    assert Holder.parse(text) == holder
    assert str(holder).startswith("alice on desk-1 (PMC 1.2.3) runs 'Import into backup' since ")
    assert Holder.parse("") is None
    assert Holder.parse("server_pid=12\n") is None
    # a job title cannot break the file's lines
    odd = Holder("bob", "d", "1", "two\nlines", 0.0)
    assert Holder.parse("\n".join(odd.lines())) == Holder("bob", "d", "1", "two lines", 0.0)


def test_the_local_lock_refuses_a_second_process_and_frees_when_it_dies(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "lab.lock"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    first = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "taken"
        mine = LocalLock(path)
        taken, other = mine.acquire(Holder.me("setup apply"))
        assert not taken
        assert other is not None and other.user == "alice" and other.job == "sync backup from main"
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        # the OS released it with the process: no guessing, no waiting
        taken, other = mine.acquire(Holder.me("setup apply"))
        assert taken and other is None
        held = Holder.parse(path.read_text())
        assert held is not None and held.job == "setup apply" and held.pid == os.getpid()
        mine.release()
        assert path.read_text() == ""  # released: it names nobody any more
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()


def test_the_local_lock_is_exclusive_within_one_process_too(tmp_path: Path) -> None:
    """The GUI runs several jobs in one process: a second job there is refused as well."""
    path = tmp_path / "lab.lock"
    one, two = LocalLock(path), LocalLock(path)
    assert one.acquire(Holder("a", "d", "1", "sync", time.time())) == (True, None)
    taken, other = two.acquire(Holder("a", "d", "1", "import", time.time()))
    assert not taken and other is not None and other.job == "sync"
    one.release()
    assert two.acquire(Holder("a", "d", "1", "import", time.time()))[0]
    two.release()


@pytest.mark.parametrize("text", ["user=x\njob=y\nsince=soon\npid=p\n"])
def test_a_damaged_lock_file_still_names_its_holder(text: str) -> None:
    holder = Holder.parse(text)
    assert holder is not None and (holder.user, holder.job, holder.since) == ("x", "y", 0.0)


RACE = """
import sys, time
from pathlib import Path
from pmc.cluster_lock import Holder, LocalLock
lock, go, stop = LocalLock(Path(sys.argv[1])), Path(sys.argv[2]), Path(sys.argv[3])
while not go.exists():  # a deliberate spin: both start together
    time.sleep(0.001)
refused = nobody = 0
end = time.monotonic() + 120  # a sanity bound; the loop ends when 50 refusals were seen
while refused < 50 and not stop.exists() and time.monotonic() < end:
    taken, other = lock.acquire(Holder("p" + sys.argv[4], "d", "1", "job", 0.0))
    if taken:
        lock.release()
    else:
        refused += 1
        nobody += other is None
stop.touch()
print(refused, nobody)
"""


def test_every_refusal_names_the_holder_even_while_it_takes_or_lets_go(tmp_path: Path) -> None:
    """Two PMCs taking and letting go of one lock as fast as they can: a refusal that falls
    between a holder's flock and its name written (or between emptying the file and letting go)
    still names who holds it, never "another PMC job (it did not say who)"."""
    path, go, stop = tmp_path / "lab.lock", tmp_path / "go", tmp_path / "stop"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, str(path), str(go), str(stop), str(n)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in (1, 2)
    ]
    go.touch()
    counts = [tuple(int(x) for x in racer.communicate(timeout=300)[0].split()) for racer in racers]
    assert sum(refused for refused, _ in counts) >= 50, counts
    assert [nobody for _, nobody in counts] == [0, 0], counts


@pytest.mark.parametrize("since", ["nan", "inf", "-inf", "1e400", "1e300", "-1e300", "-5"])
def test_a_lock_file_whose_time_is_not_a_date_still_names_its_holder(since: str) -> None:
    holder = Holder.parse(f"user=x\ndesktop=d\nversion=1\njob=sync\nsince={since}\npid=7\n")
    assert holder is not None and holder.since == 0.0
    assert str(holder) == "x on d (PMC 1) runs 'sync' since an unknown time"


def test_a_holder_text_cut_inside_a_letter_still_names_the_holder(tmp_path: Path) -> None:
    """The holder's lines read while they are being written, cut inside a letter of a
    non-ASCII name: before, UnicodeDecodeError escaped from acquire instead of the refusal."""
    path = tmp_path / "lab.lock"
    one, two = LocalLock(path), LocalLock(path)
    assert one.acquire(Holder("jürgen", "d", "1", "sync", time.time())) == (True, None)
    path.write_bytes("user=jürgen\njob=sync\ndesktop=Zürich".encode()[:-5])  # "Z\xc3" at the end
    taken, other = two.acquire(Holder("a", "d", "1", "import", time.time()))
    assert not taken and other is not None and (other.user, other.job) == ("jürgen", "sync")
    one.release()
