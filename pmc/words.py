"""The operator's words: one name per role, the spellings PMC uses, and plurals.

A server has one name per role everywhere PMC speaks (:data:`ROLE_NAMES`): *main* and
*backup*, as the vendor's manual names them. Playout's own words appear only where the Web
Console shows them: *master* and *spooler* are the types of ``spoolers.json``
(:data:`SPOOLER_TYPES`). copy_config.sh's *primary*/*secondary* and its "slave" stay inside
the script's own output lines; PMC says main and backup. The button is "Synchronize" (US
spelling, as the Web Console's "Synchronize all servers"), so is every "synchronization".

:data:`AVOID` lists the words no operator-facing text may contain, each with what to say
instead; ``tests/test_operator_words.py`` scans every such text (``tr()`` sources in ui/, the
messages of :class:`~pmc.errors.PmcError` subclasses, job log lines) for them, for "1 rows"
style plurals (use :func:`plural`) and for internal enum values.
"""

from __future__ import annotations

import re

from pmc.inventory import Role

ROLE_NAMES: dict[Role, str] = {
    Role.MAIN: "main",
    Role.BACKUP: "backup",
    Role.ADMIN: "admin",
    Role.PLAYER: "player",
}
"""What each role is called, in every window, message and log line of PMC."""

SPOOLER_TYPES: dict[Role, str] = {Role.MAIN: "master", Role.BACKUP: "spooler"}
"""The Web Console's words (``spoolers.json`` types) for main and backup, shown only beside
``spoolers.json`` itself."""

AVOID: dict[str, str] = {
    "seed": "the vendor's manual",
    "slave": "backup",
    "secondary": "backup",
    "fix(es)": "a plural from pmc.words.plural()",
    "(s)": "a plural from pmc.words.plural()",
    "synchronis": "synchroniz (US spelling, as the Web Console's button; any case)",
}
"""Words that must not reach the operator → what to say instead."""


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` and the noun in the right number: ``plural(1, "row")`` is "1 row",
    ``plural(2, "row")`` "2 rows", ``plural(3, "copy", "copies")`` "3 copies"."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count} {word}"


def role_name(role: Role) -> str:
    return ROLE_NAMES[role]


def server_label(name: str, role: Role) -> str:
    """A server as a list shows it: its name, and its role when the name does not say it
    ("studio-a-2 (backup)", but "main", never "main (main)")."""
    word = ROLE_NAMES[role]
    return name if name == word else f"{name} ({word})"


_UNSHOWN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8 (read with surrogateescape)
        code -= 0xDC00
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` from a file someone else wrote (a bundle's names) as it may be shown: each
    control character (a line break, a terminal escape, a bidi override; a tab stays) and
    each byte that is not UTF-8 written as ``\\xNN``, so that it can neither forge nor hide
    a line, nor stop a print."""
    return _UNSHOWN.sub(_escape, text)
