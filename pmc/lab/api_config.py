"""What the lab's stand-in Playout API reads at start: ``spoolers.json`` (refused with the
reason, line and column as the API logs it), ``replicate.conf``, and the machine's own
addresses (to find its own spoolers entry)."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class SpoolersError(Exception):
    """spoolers.json is missing, not JSON, or not a list of servers."""


@dataclass(frozen=True)
class Spooler:
    name: str
    address: str
    type: str


def load_spoolers(path: Path) -> tuple[list[dict[str, Any]], list[Spooler]]:
    """Parse spoolers.json; :class:`SpoolersError` says why it cannot be used."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpoolersError(f"cannot read spoolers file {path}: {exc.strerror}") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpoolersError(
            f"spoolers file {path} is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}"
        ) from exc
    if not isinstance(raw, list) or not raw:
        raise SpoolersError(f"spoolers file {path} must contain a non-empty JSON array")
    spoolers: list[Spooler] = []
    for index, entry in enumerate(raw, 1):
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(key), str) and entry.get(key)
            for key in ("name", "address", "type")
        ):
            raise SpoolersError(
                f"spoolers file {path}: entry {index} needs text fields name, address and type"
            )
        if entry["type"] not in ("master", "spooler"):
            raise SpoolersError(
                f"spoolers file {path}: entry {index} has type {entry['type']!r}, "
                'expected "master" or "spooler"'
            )
        spoolers.append(Spooler(entry["name"], entry["address"], entry["type"]))
    return raw, spoolers


def machine_addresses() -> set[str]:
    """The IPv4 addresses of this machine's (namespace's) interfaces."""
    try:
        out = subprocess.run(
            ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"127.0.0.1"}
    return {m.group(1) for m in re.finditer(r"\binet (\d+\.\d+\.\d+\.\d+)/", out)}


def read_replicate(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except OSError:
        return []
