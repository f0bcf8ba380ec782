"""The import graph of pmc/ and ui/ keeps the layers honest:

- no import circle (imports inside functions and under ``TYPE_CHECKING`` count: they are how
  circles hide);
- no import inside a function body, except the lazy imports start-up needs, named in
  :data:`LAZY` with their reason;
- no ``from x import _name`` of another module's private name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pmc", "ui")

COMMAND_MODULES = (
    "inventory",
    "lab",
    "setup",
    "bundle",
    "sync",
    "cluster",
    "history",
    "hostkey",
    "status",
)
LAZY: dict[tuple[str, str], str] = {
    # `pmc --version` and `pmc --help` load no command; a command loads only its own module
    **{
        ("pmc.cli", f"pmc.cli.{name}"): "pmc --version/--help stay fast"
        for name in (*COMMAND_MODULES, "common")
    },
    ("ui.launch", "ui.app"): "the command line (the same `pmc` program) never loads Qt",
    ("ui.app", "ui.window_start"): "the window's frame is painted before PMC loads its panels, "
    "SSH and database libraries",
}


@dataclass(frozen=True)
class Import:
    module: str  # the module imported (a submodule where the name is one)
    names: tuple[str, ...]  # what `from … import` took from it
    late: bool  # inside a function body
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = modules()


def _resolve(current: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path, current: str | None = None) -> Iterator[Import]:
    """What ``path`` (the module ``current``, by default named by its place) imports."""
    current = current or module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    late_nodes = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for sub in ast.walk(node)
    }
    for node in ast.walk(tree):
        late = id(node) in late_nodes
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, (), late, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(current, path, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:
                    yield Import(sub, (), late, node.lineno)
                else:
                    yield Import(base, (alias.name,), late, node.lineno)


def graph() -> dict[str, set[str]]:
    return {
        name: {i.module for i in imports_of(path) if i.module in MODULES and i.module != name}
        for name, path in MODULES.items()
    }


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def files() -> list[object]:
    """Every module file, named by its path."""
    return [pytest.param(path, id=path.relative_to(ROOT).as_posix()) for path in MODULES.values()]


def test_no_import_circle() -> None:
    assert circles(graph()) == []


@pytest.mark.parametrize("path", files())
def test_no_late_import_but_the_named_lazy_ones(path: Path) -> None:
    current = module_name(path)
    late = [
        f"{i.line}: {i.module}"
        for i in imports_of(path)
        if i.late and (current, i.module) not in LAZY
    ]
    assert late == []


@pytest.mark.parametrize("path", files())
def test_no_private_name_of_another_module(path: Path) -> None:
    current = module_name(path)
    private = [
        f"{i.line}: from {i.module} import {name}"
        for i in imports_of(path)
        for name in i.names
        if name.startswith("_") and not name.startswith("__") and i.module != current
    ]
    assert private == []


def test_the_checks_catch_what_they_forbid(tmp_path: Path) -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    bad = tmp_path / "probe.py"
    bad.write_text(
        "from .session import _quiet\n\ndef f():\n    from pmc import jobs\n    return jobs\n"
    )
    found = list(imports_of(bad, "ui.probe"))
    assert Import("ui.session", ("_quiet",), False, 1) in found
    assert Import("pmc.jobs", (), True, 4) in found
    stale = [key for key in LAZY if key[0] not in MODULES]
    assert stale == []
