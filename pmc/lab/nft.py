"""nftables for a lab server's firewall stand-in: loading a ruleset, and the test helpers'
extra table of blocked ports."""

from __future__ import annotations

import subprocess
import sys


def nft(script: str, *, ignore: bool = False) -> bool:
    """Load an nft script; a failure is printed (unless ``ignore``)."""
    proc = subprocess.run(
        ["nft", "-f", "-"], input=script, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0 and not ignore:
        print(f"nft failed: {proc.stderr.strip()}", file=sys.stderr, flush=True)
    return proc.returncode == 0


def blocks_ruleset(blocks: set[tuple[int, str, str]]) -> str:
    """The test helpers' table ``inet pmc-lab-block``: each (port, proto, mode) blocked."""
    rules = []
    for port, proto, mode in sorted(blocks):
        action = (
            "drop" if mode == "drop" else ("reject with tcp reset" if proto == "tcp" else "reject")
        )
        rules.append(f"    {proto} dport {port} {action}")
    return (
        "table inet pmc-lab-block\ndelete table inet pmc-lab-block\n"
        "table inet pmc-lab-block {\n  chain input {\n"
        "    type filter hook input priority filter - 10; policy accept;\n"
        + "\n".join(rules)
        + "\n  }\n}\n"
    )
