"""The checks behind "the operator's words" (pmc.words), shared by the scan of pmc's sources
(tests/test_operator_words.py) and by lab tests that read a command's whole output: the
words of :data:`pmc.words.AVOID`, and the internal codes of pmc's string enums
("failover-not-checked") that must never reach the operator."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import re
import sys

import pmc
from pmc.words import AVOID

WORDS = {word: re.compile(rf"\b{re.escape(word)}\w*", re.IGNORECASE) for word in AVOID
         if word.isalpha()}  # fmt: skip
MARKS = [word for word in AVOID if not word.isalpha()]


def import_pmc() -> None:
    """Import every module of pmc the operator's texts can come from (not the lab's stand-ins,
    the command line or ``python -m pmc``)."""
    for module in pkgutil.walk_packages(pmc.__path__, "pmc."):
        if not module.name.startswith(("pmc.lab", "pmc.cli", "pmc.__main__")):
            importlib.import_module(module.name)


def internal_codes() -> set[str]:
    """Values of pmc's string enums that are codes, not words ("failover-not-checked")."""
    import_pmc()
    codes: set[str] = set()
    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith("pmc."):
            continue
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, enum.Enum):
                codes |= {m.value for m in value if isinstance(m.value, str) and "-" in m.value}
    return codes


def code_in(text: str, code: str) -> bool:
    """Whether ``code`` stands alone in ``text`` (not inside a path or a longer name)."""
    return re.search(rf"(?<![\w/.-]){re.escape(code)}(?![\w/.-])", text) is not None


def problems_in_output(output: str, *, quoted: tuple[str, ...] = ()) -> list[str]:
    """What a command's output (stdout and stderr) says that is not the operator's words: an
    avoided word or mark, an internal code, an enum's repr, a Python traceback. ``quoted``:
    other programs' lines the output quotes as they are (copy_config.sh's "Checking failover
    on slave"), left out of the check."""
    for line in quoted:
        output = output.replace(line, "")
    found = [f"says {word!r} (say {AVOID[word]})" for word, p in WORDS.items() if p.search(output)]
    found += [f"says {mark!r} (say {AVOID[mark]})" for mark in MARKS if mark in output]
    found += [f"an internal code {code!r}" for code in internal_codes() if code_in(output, code)]
    found += [f"an enum's repr: {m!r}" for m in re.findall(r"<\w+\.\w+: [^>]*>", output)]
    if "Traceback (most recent call last)" in output:
        found.append("a Python traceback")
    return found
