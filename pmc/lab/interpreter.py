"""The lab's own Python as a server sees it: every path resolved once, here.

A lab server hides parts of the machine behind its private tree (``/tmp``, ``/root``, ``/run``,
``/etc`` …). The stand-ins' ``#!`` lines, the services' command lines, ``PYTHONPATH`` and the
folders bound back into a server must therefore name REAL folders: a virtualenv or a checkout
reached through a symlink (``/ci/.venv -> /tmp/build/.venv``) would otherwise name a path that
does not exist inside the server, and its stand-ins fail with "command not found".
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

import pmc


@cache
def python() -> str:
    """The interpreter running the lab, with its folder resolved but its own name kept: a
    virtualenv's ``bin/python`` is itself a link to the base interpreter, and Python finds the
    virtualenv (its ``pyvenv.cfg``) only when started by the name inside it."""
    executable = Path(sys.executable)
    return str(executable.parent.resolve() / executable.name)


@cache
def code_root() -> str:
    """The folder that holds the ``pmc`` package (the checkout, or site-packages)."""
    return str(Path(pmc.__file__).resolve().parents[1])


def paths_to_keep() -> list[str]:
    """Machine folders the lab's Python needs inside a server, whatever private tree hides
    them (resolved: a server sees only real paths)."""
    paths = {
        sys.base_prefix,
        sys.base_exec_prefix,
        sys.prefix,
        sys.exec_prefix,
        str(Path(python()).parents[1]),
        code_root(),
    }
    return sorted(os.path.realpath(p) for p in paths if p)
