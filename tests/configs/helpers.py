"""Shared checks for the codec tests."""

from __future__ import annotations

import difflib
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> str:
    return (GOLDEN / name).read_bytes().decode("utf-8")


def changed_lines(before: str, after: str) -> int:
    """How many lines differ (replaced, inserted or deleted) between two texts."""
    a, b = before.splitlines(), after.splitlines()
    count = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "equal":
            count += max(i2 - i1, j2 - j1)
    return count
