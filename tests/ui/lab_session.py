"""A lab for GUI tests: a fresh two-server lab, and the test process's main thread moved
into the operator's network namespace while it runs (threads started meanwhile, such as the
SSH pool's workers, inherit it), then moved back."""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator

import pytest

from pmc.errors import LabError

CLONE_NEWNET = 0x40000000


@contextlib.contextmanager
def operator_namespace(cluster: object) -> Iterator[None]:
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        cluster.enter_operator_namespace()  # type: ignore[attr-defined]
        yield
    finally:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.setns(home, CLONE_NEWNET)
        os.close(home)


@contextlib.contextmanager
def fresh_lab(servers: int = 2) -> Iterator[object]:
    from pmc import lab

    try:
        lab.check_machine()
    except LabError as exc:
        pytest.skip(str(exc))
    lab_id = f"ui{os.getpid() % 100000}"
    cluster = lab.up(servers=servers, state="fresh", lab_id=lab_id)
    try:
        with operator_namespace(cluster):
            yield cluster
    finally:
        lab.down(lab_id)
