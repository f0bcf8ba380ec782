"""``pmc inventory …`` (filled in by the inventory work)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser("inventory", help="clusters and servers PMC manages")
