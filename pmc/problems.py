"""Problems of the inventory file, and the one refusal of an inventory that has them.

A :class:`Problem` is one thing wrong, placed at its line (``str(problem)`` is
``FILE:LINE: message``). Reading the file (:mod:`pmc.inventory_file`) finds some — unknown
keys, wrong types — and the rules (:mod:`pmc.validation`) find the rest.
:class:`InventoryProblems` is how PMC refuses to act on a file that has problems of the
first kind (:meth:`pmc.workspace.Workspace.load`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from pmc.errors import InputError


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with the inventory; ``str()`` is ``FILE:LINE: message``."""

    message: str
    path: str = ""
    line: int | None = None
    cluster: str | None = None
    server: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        if not self.path:
            return self.message
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems by line (those without a line last), otherwise in the order found."""
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0))


class InventoryProblems(InputError):
    """Problems that stop PMC from using the inventory (found while reading the file), or
    from writing a change (``refused``: what was refused); every one is named, on one line,
    and nothing was changed."""

    def __init__(
        self, path: str, problems: Sequence[Problem], *, refused: str | None = None
    ) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        listed = "; ".join(str(problem) for problem in self.problems)
        if refused is None:
            what = (
                f"the inventory has {count} problem{'s' if count != 1 else ''} PMC cannot"
                f" correct for you: {listed}"
            )
            hint = f"Correct the file (`pmc inventory validate {path}` lists them), then try again."
        else:
            what = f"{refused}: {listed}"
            hint = "Correct the input and try again."
        super().__init__(f"{what}; nothing was changed", where=path, hint=hint)
