"""The operator's words: plurals.

(A tiny first version: issue 19 brings this module with the operator's words beside it; its
:func:`plural` has the same signature.)
"""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` and the noun in the right number: ``plural(1, "row")`` is "1 row",
    ``plural(2, "row")`` "2 rows", ``plural(3, "copy", "copies")`` "3 copies"."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count} {word}"
