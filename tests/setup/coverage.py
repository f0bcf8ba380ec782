"""Fail when branch coverage of the modules that decide what changes on a server drops.

Like qutebrowser's ``scripts/dev/check_coverage.py``: ``make coverage`` runs tests/setup
under pytest-cov (branch coverage of pmc.plan and pmc.setup, JSON report) and then this
script, which compares each module below with the level it has reached. Raise a number when
tests improve; never lower one to make a change pass.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# module -> minimum percent (statements and branches together, as coverage.py counts)
REQUIRED = {
    "pmc/plan.py": 99.3,
    "pmc/setup/__init__.py": 100.0,
    "pmc/setup/planning.py": 93.5,
    "pmc/setup/web.py": 88.0,
    "pmc/setup/database.py": 100.0,
    "pmc/setup/root_login.py": 99.1,
    "pmc/setup/postgresql.py": 100.0,
    "pmc/setup/admin_player.py": 94.7,
    "pmc/setup/apply.py": 89.9,
}


def main(report: Path) -> int:
    files = json.loads(report.read_text())["files"]
    problems = []
    for module, minimum in REQUIRED.items():
        summary = files.get(module, {}).get("summary")
        if summary is None:
            problems.append(f"{module}: not measured (was it imported by the tests?)")
            continue
        got = float(summary["percent_covered"])
        status = "ok " if got + 1e-9 >= minimum else "LOW"
        print(f"{status} {module:28} {got:6.2f}% (required {minimum:.1f}%)")
        if status == "LOW":
            missing = summary.get("missing_lines", 0)
            problems.append(f"{module}: {got:.2f}% < {minimum}% ({missing} lines not run)")
    for problem in problems:
        print(f"coverage dropped: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "coverage-setup.json")))
