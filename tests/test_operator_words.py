"""Every operator-facing string speaks the operator's words (pmc.words): the sources of ``tr()``
in ui/, the messages (and hints) of PmcError subclasses raised in pmc/, the lines jobs log
and step through (``ctx.log``, ``ctx.step``, ``ctx.progress(message=…)``, the engines'
``report(…)``), and what results and failures say of themselves (``__str__``, ``summary``,
``explain``: a job's final line, a status cell, a remediation prompt). None may contain a
word of :data:`pmc.words.AVOID` ("seed", "slave", "secondary", "fix(es)", British
"synchronise"), a counted noun written as a fixed plural ("{n} rows": use pmc.words.plural),
or an internal enum value ("failover-not-checked", ``{x.value}``). And every visible string
of ui/ goes through ``tr()``.

Strings are read from the source with ``ast`` (an f-string's literal parts, with ``{…}`` where
its values go), so a message that is only built at run time is checked by its parts."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pmc.errors import PmcError
from pmc.words import AVOID
from tests.operator_words import MARKS, WORDS, code_in, import_pmc, internal_codes

ROOT = Path(__file__).resolve().parent.parent
COUNTED = (
    "rows|tables|files|servers|steps|lines|jobs|members|clusters|services|networks|changes|"
    "problems|checks|keys|schedules|parts|items|entries|differences|attempts|links|ports|"
    "fixes|records|bundles|folders|sessions|updates|tasks"
)
FIXED_PLURAL = re.compile(rf"^\s({COUNTED})\b")


@dataclass(frozen=True)
class Text:
    where: str  # file:line
    parts: tuple[str, ...]  # the literal parts, in order
    values: tuple[ast.expr, ...]  # the expressions formatted in between
    follows_value: tuple[ast.expr | None, ...]  # per part: the {value} right before it

    @property
    def text(self) -> str:
        return "{…}".join(self.parts)


def _text(node: ast.expr, where: str) -> Text | None:
    """The literal text of a str constant, an f-string, or a + of those (else None)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return Text(where, (node.value,), (), (None,))
    if isinstance(node, ast.JoinedStr):
        parts: list[str] = []
        values: list[ast.expr] = []
        follows: list[ast.expr | None] = []
        after_value: ast.expr | None = None
        for piece in node.values:
            if isinstance(piece, ast.Constant) and isinstance(piece.value, str):
                parts.append(piece.value)
                follows.append(after_value)
                after_value = None
            elif isinstance(piece, ast.FormattedValue):
                values.append(piece.value)
                after_value = piece.value
        return Text(where, tuple(parts), tuple(values), tuple(follows))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left, where), _text(node.right, where)
        if left is not None and right is not None:
            return Text(where, left.parts + right.parts, left.values + right.values,
                        left.follows_value + right.follows_value)  # fmt: skip
    return None


def _sources(package: str) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("pmc/lab/"):
            continue  # the rehearsal lab stands in for the servers: Playout's own words
        yield relative, ast.parse(path.read_text(encoding="utf-8"))


def _pmc_errors() -> set[str]:
    """The names of every PmcError subclass pmc defines (its modules imported to find them)."""
    import_pmc()
    found: set[str] = set()
    todo = [PmcError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo += cls.__subclasses__()
    return found


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def operator_texts() -> list[Text]:
    errors = _pmc_errors()
    found: list[Text] = []
    for package in ("pmc", "ui"):
        for path, tree in _sources(package):
            for node in ast.walk(tree):
                if (
                    package == "pmc"
                    and isinstance(node, ast.FunctionDef)
                    and (node.name in ("__str__", "summary", "explain"))
                ):  # a result's or a failure's words: a job's final line, a cell, a prompt
                    found += _report_lines(node, path)
                    continue
                if package == "pmc" and isinstance(node, ast.FunctionDef) and node.name == "lines":
                    found += _report_lines(node, path)  # a report shown whole (drift, a fix)
                    continue
                if not isinstance(node, ast.Call):
                    continue
                name = _call_name(node)
                where = f"{path}:{node.lineno}"
                args: list[ast.expr] = []
                if package == "ui" and name == "tr":
                    args = node.args[:1]
                elif package == "pmc" and name in errors:
                    args = [*node.args[:1], *(k.value for k in node.keywords
                                              if k.arg in ("what", "hint"))]  # fmt: skip
                elif (package == "pmc" and name in ("log", "step") and _on_ctx(node)) or (
                    package == "pmc" and name == "report"
                ):
                    args = node.args[:1]
                elif package == "pmc" and name == "progress" and _on_ctx(node):
                    args = [k.value for k in node.keywords if k.arg == "message"]
                for arg in args:
                    text = _text(arg, where)
                    if text is not None:
                        found.append(text)
    return found


def _report_lines(function: ast.FunctionDef, path: str) -> list[Text]:
    """Every text a ``lines()`` report writes (its docstring left out)."""
    docstring = ast.get_docstring(function, clean=False)
    parts = {id(v) for n in ast.walk(function) if isinstance(n, ast.JoinedStr) for v in n.values}
    texts = []
    for inner in ast.walk(function):
        if isinstance(inner, ast.JoinedStr) or (
            isinstance(inner, ast.Constant)
            and isinstance(inner.value, str)
            and id(inner) not in parts
        ):
            text = _text(inner, f"{path}:{inner.lineno}")
            if text is not None and text.text != docstring:
                texts.append(text)
    return texts


def _on_ctx(node: ast.Call) -> bool:
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and (func.value.id == "ctx")
    )


TEXTS = operator_texts()


def test_the_scan_finds_the_texts_it_is_about() -> None:
    wheres = {t.where.split(":")[0] for t in TEXTS}
    assert "ui/status_panel.py" in wheres and "pmc/workspace.py" in wheres  # tr() and errors
    assert "pmc/sync/delta_engine.py" in wheres  # job log lines
    assert len(TEXTS) > 300


COUNT_NAMES = re.compile(
    r"^(n|i|count|number|total|\w*_count|rows|files|changes|attempts|fixes|\w*changed|"
    r"\w*copied|\w*removed|missing|done)$"
)


def _a_count(value: ast.expr) -> bool:
    """Whether a formatted value is a number of things ({len(x)}, {count}, {rows_changed})."""
    if isinstance(value, ast.Call):
        return True  # len(…), sum(…), counts.get(…)
    name = value.id if isinstance(value, ast.Name) else getattr(value, "attr", "")
    return bool(COUNT_NAMES.match(name))


def problems_of(text: Text, codes: set[str]) -> list[str]:
    found = []
    whole = text.text
    for word, pattern in WORDS.items():
        if pattern.search(whole):
            found.append(f"says {word!r} (say {AVOID[word]})")
    for mark in MARKS:
        if mark in whole:
            found.append(f"says {mark!r} (say {AVOID[mark]})")
    for part, after in zip(text.parts, text.follows_value, strict=True):
        if after is not None and _a_count(after) and FIXED_PLURAL.match(part):
            found.append(f"a fixed plural after a count: {{…}}{part[:20]!r} (pmc.words.plural)")
    if re.search(rf"\b1 ({COUNTED})\b", whole):
        found.append("'1 …s'")
    command_line = text.where.startswith("pmc/cli/")  # there the values are the options typed
    for value in text.values:
        if isinstance(value, ast.Attribute) and value.attr == "value" and not command_line:
            found.append(f"an enum's internal value: {{{ast.unparse(value)}}}")
    for code in codes:
        if code_in(whole, code):
            found.append(f"an internal code {code!r}")
    return found


def test_operator_texts_use_the_operators_words() -> None:
    codes = internal_codes()
    bad = [f"{t.where}: {p}: {t.text[:90]!r}" for t in TEXTS for p in problems_of(t, codes)]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ('tr(f"copied {n} rows")', "a fixed plural"),
        ('tr("Run the seed\'s checks")', "'seed'"),
        ('tr("Checking failover on slave")', "'slave'"),
        ('tr(f"{n} fix(es)")', "'fix(es)'"),
        ('tr("synchronised")', "'synchronis'"),
        ('tr(f"role {server.role.value}")', "internal value"),
        ('tr("1 fix: failover-not-checked")', "internal code"),
    ],
)
def test_the_checks_catch_what_they_are_for(source: str, problem: str) -> None:
    call = ast.parse(source, mode="eval").body
    assert isinstance(call, ast.Call)
    text = _text(call.args[0], "x:1")
    assert text is not None
    assert any(problem in p for p in problems_of(text, {"failover-not-checked"}))


# every visible string of ui/ goes through tr() ---------------------------------------------
SHOWN = {
    "setText", "setToolTip", "setStatusTip", "setWindowTitle", "setPlaceholderText",
    "showMessage", "setTitle", "setSubTitle", "addTab", "setHeaderLabels", "addItem",
    "setDescription", "setIconText", "addButton", "setFormat", "setButtonText", "addRow",
    "QLabel", "QPushButton", "QCheckBox", "QAction", "QGroupBox", "QMessageBox", "QToolButton",
    "QCommandLinkButton", "QTreeWidgetItem", "QTableWidgetItem", "QDockWidget",
}  # fmt: skip
LETTERS = re.compile(r"[A-Za-z]{2,}")
NOT_WORDS = re.compile(r"^(%p%|[\s✔✖■▶–—•…]*|eth[23]\s.*|[A-Z]+ \d+.*)$")


def untranslated() -> list[str]:
    found = []
    for path, tree in _sources("ui"):
        if path in ("ui/demo.py", "ui/screenshots.py", "ui/screenshot_scenes.py"):
            continue  # console output of the developer tools, not the app
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _call_name(node) not in SHOWN:
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                for element in arg.elts if isinstance(arg, (ast.List, ast.Tuple)) else [arg]:
                    text = _text(element, f"{path}:{node.lineno}")
                    if text is None or not LETTERS.search(text.text):
                        continue
                    if NOT_WORDS.match(text.text):
                        continue
                    found.append(f"{text.where}: {text.text[:70]!r}")
    return found


def test_every_visible_string_goes_through_tr() -> None:
    missing = untranslated()
    assert not missing, "\n".join(missing)
