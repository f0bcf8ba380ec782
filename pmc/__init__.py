"""PMC, the Playout Management Console: the core (no Qt here, ever)."""

__version__ = "0.1.0"
