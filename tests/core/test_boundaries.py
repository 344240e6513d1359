"""Package boundaries: modules outside ``sftgen/tasks/`` go through the task protocol, and no import cycles.

Why tests and not a review note: the two study tasks were once wired through ~27 modules by name, which is what
made a third task expensive; these checks keep new code from naming a task again. What counts as naming one:
a string literal that is a task's name or starts with ``<task>/`` (a split), an identifier built on it
(``sokoban_key``, ``PointsEnv``, ``KEYS_...``) or an import of ``sftgen.tasks.<task>``. Prose in comments and
docstrings is not checked (``points`` and ``keys`` are English words). A line that uses such a word for something
else (a sweep's curve ``points``) says so with ``# not-a-task``.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

from sftgen.tasks.protocol import task_names

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "sftgen"
OWN_FOLDERS = ("tasks",)
"""Only ``tasks/`` may name tasks."""

STILL_NAMING: dict[str, str] = {}
"""Modules outside ``tasks/`` allowed to name a task, each with why: none since every module went through the
protocol (issue 17). An entry may only be removed: a module that stops naming a task must leave the list."""


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.split("/", 1)[0] not in OWN_FOLDERS:
            yield rel, path


def _identifier_pattern(name: str) -> re.Pattern[str]:
    """An identifier built on the task name: ``name_...``, ``NAME_...``, ``...Name`` + capital (``PointsEnv``).
    Suffixes are left alone: ``split_keys`` and ``ROW_KEYS`` are a dictionary's keys, not the task."""
    cap = name.capitalize()
    return re.compile(rf"^_?{name}_|^_?{name.upper()}_|(^|[a-z_]){cap}[A-Z]|^{cap}$")


def _literal_names(value: str, name: str, ident: re.Pattern[str]) -> bool:
    """The literal is the name, a split (``name/...``) anywhere in it, the name quoted inside it (code in a
    string: ``task === "name"``) or an identifier built on it (a lazy export's ``"name_reward"``)."""
    return (
        value == name
        or re.search(rf"(^|[^\w/-]){name}/(\w|$)", value) is not None
        or re.search(rf"[\"']{name}[\"']", value) is not None
        or (value.isidentifier() and ident.search(value) is not None)
    )


def namings(source: str) -> list[str]:
    """Every way ``source`` names a registered task, as ``line: what``."""
    names = task_names()
    idents = {n: _identifier_pattern(n) for n in names}
    found: list[str] = []
    lines = source.splitlines()

    def allowed(line: int) -> bool:
        return "# not-a-task" in lines[line - 1]

    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and not allowed(tok.start[0]):
            found += [f"{tok.start[0]}: {tok.string}" for n, pattern in idents.items() if pattern.search(tok.string)]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and not allowed(node.lineno):
            value = node.value
            found += [f"{node.lineno}: {value[:60]!r}" for n in names if _literal_names(value, n, idents[n])]
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for module in modules:
            found += [f"{node.lineno}: import {module}" for n in names if module.startswith(f"sftgen.tasks.{n}")]
    return found


def test_the_checker_sees_each_way_of_naming_a_task() -> None:
    source = (
        "from sftgen.tasks.sokoban import Board\n"
        "import sftgen.tasks.keys.world\n"
        "x = {'points': 1}\n"
        "y = f'keys/{z}'\n"
        "def sokoban_key(): ...\n"
        "class PointsEnv: ...\n"
        "KEYS_SIZE = 1\n"
        "curve = {'points': []}  # not-a-task\n"
        "ok = d.keys(); split_keys = 1; entry_points = 2; points = 3\n"
    )
    found = namings(source)
    assert {int(f.split(":")[0]) for f in found} == {1, 2, 3, 4, 5, 6, 7}


def test_modules_outside_tasks_do_not_name_a_task() -> None:
    naming = {rel: namings(path.read_text(encoding="utf-8")) for rel, path in _modules()}
    new = {rel: found[:5] for rel, found in naming.items() if found and rel not in STILL_NAMING}
    assert not new, f"these modules name a task; go through sftgen.tasks.protocol instead: {new}"
    done = sorted(rel for rel in STILL_NAMING if not naming.get(rel))
    assert not done, f"no longer naming a task: drop them from STILL_NAMING: {done}"


# ---------------------------------------------------------------------------------------------- import cycles


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(tree: ast.Module, module: str, is_package: bool) -> Iterator[str]:
    """Modules imported when ``module`` is imported: module-level statements (``if``/``try`` included), not
    function bodies and not ``if TYPE_CHECKING:`` blocks."""
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If):
            if not _is_type_checking(node):
                stack += node.body + node.orelse
        elif isinstance(node, ast.Try):
            stack += node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """sftgen module -> the sftgen modules (and their packages) its import runs first."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 2)}
        edges: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target in _top_level_imports(tree, module, path.name == "__init__.py"):
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i])
                if prefix in paths and prefix not in own:  # a package being imported runs its __init__ first
                    edges.add(prefix)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []
