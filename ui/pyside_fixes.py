"""Work-arounds for bugs of the PySide6 release PMC runs on, applied by :func:`ui.app.make_app`.

PySide 6.12.0 (its abi3 wheel) returns ``None`` and ``True`` without taking a reference,
as if they were immortal — which they are only from Python 3.12 on. Measured on 3.11:
every ``SignalInstance.emit()`` (any signal, any arguments, with or without receivers)
lowers ``sys.getrefcount(True)`` by one, and every call of a C++ method returning void
(``setText``, ``deleteLater``, ``QTimer.singleShot``, ``click`` — and so every qasync
``call_soon``) lowers ``sys.getrefcount(None)`` by one. Once a count reaches zero the
interpreter aborts: "Fatal Python error: bool_dealloc: deallocating True or False" or
"none_dealloc: deallocating None" — at exit (the final collection), or in the middle of a
long session. :func:`immortal_singletons` makes them immortal as Python 3.12 does, with a
reference count no session can use up (2**40 calls).
"""

from __future__ import annotations

import ctypes
import sys

BALLAST = 1 << 40


def immortal_singletons() -> bool:
    """Make None, True and False immortal (once per process); False where not needed."""
    if sys.version_info >= (3, 12) or getattr(sys, "_pmc_immortal_singletons", False):
        return False
    if sys.implementation.name != "cpython":
        return False
    for value in (None, True, False):
        # ob_refcnt is the first field of every CPython object: the object's address is id()
        ctypes.c_ssize_t.from_address(id(value)).value += BALLAST
    sys._pmc_immortal_singletons = True  # type: ignore[attr-defined]
    return True
