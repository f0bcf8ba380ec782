"""Asyncio rules PMC's code keeps, with the reason each exists.

On Python 3.11 (PMC's oldest), ``asyncio.wait_for`` swallows a cancellation that meets the
awaited thing finishing in the same moment: a command cancelled just as a line of its output
arrived went on running (seen under load: the cancel test hung for its whole 300 s command
time). ``asyncio.timeout`` keeps the cancellation. So PMC never uses ``wait_for``.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_wait_for_in_pmc_or_ui() -> None:
    found = []
    for folder in ("pmc", "ui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr == "wait_for"
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "asyncio"
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == [], "use `async with asyncio.timeout(…)` instead of asyncio.wait_for"


async def _consume(queue: asyncio.Queue[str], got: list[str]) -> None:
    while True:
        async with asyncio.timeout(300):
            got.append(await queue.get())


def test_a_cancel_meeting_an_arriving_item_still_cancels() -> None:
    """The pattern PMC's command reader uses: cancelled in the very moment an output line
    arrives, it stops (with wait_for on 3.11 it took the line and waited on)."""

    async def main() -> list[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        got: list[str] = []
        task = asyncio.create_task(_consume(queue, got))
        await asyncio.sleep(0)  # a yield, not a wait: the reader starts and blocks in get()
        queue.put_nowait("started")
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=10)
        assert done == {task}, "the cancelled reader was still running after 10 s"
        assert task.cancelled()
        return got

    assert asyncio.run(main()) in ([], ["started"])
