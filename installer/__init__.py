"""Build scripts for PMC's distributables (not part of the installed program)."""
