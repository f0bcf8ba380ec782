"""Every bench still imports: the benches are run by hand, not by the suite, and mypy does
not check them, so a renamed module (pmc.sync.engine → delta_engine) broke bench_sync.py
without any test noticing."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCHES = sorted(p.stem for p in (Path(__file__).parent.parent / "bench").glob("*.py"))


@pytest.mark.parametrize("name", BENCHES)
def test_the_bench_imports(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    if name.startswith("bench_"):
        assert callable(getattr(module, "main", None)), f"bench/{name}.py has no main()"
