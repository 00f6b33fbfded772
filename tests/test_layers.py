"""The kit's layers, enforced: what each package may import, no import cycles, TensorFlow in one module,
pytest only in the harness, the oracle on its own. docs/architecture.md is the map this test holds true.

The rules are checked on the source with :mod:`ast` (imports under ``if TYPE_CHECKING:`` name types only
and are not dependencies); each rule is also shown failing on a copy of the package with one forbidden
import added.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "conformance"

#: Bottom to top. A module may import modules of its own layer or a lower one, never a higher one.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("conformance.oracle",),
    ("conformance.errors", "conformance.registry", "conformance.item"),
    ("conformance.families",),
    ("conformance.casefile",),
    ("conformance.run",),
    ("conformance.checks",),
    ("conformance.verdict",),
    ("conformance.results",),
    ("conformance.harness", "conformance.plugin", "conformance.__main__"),
)
TENSORFLOW_ONLY_IN = ("conformance.run.tfenv",)
PYTEST_ONLY_IN = ("conformance.harness", "conformance.plugin")


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, name: str, modules: set[str]) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in the file, at any depth, except under TYPE_CHECKING.

    ``from package import module`` depends on that module (as import-linter counts it), ``from module
    import name`` on the module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def walk(node: ast.AST) -> Iterator[tuple[str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    yield from walk(other)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    yield (sub if sub in modules else base), child.lineno
            yield from walk(child)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")))


def graph(root: Path) -> dict[str, dict[str, int]]:
    """Kit module -> {imported module (kit modules resolved to existing ones, others as named): line}."""
    files = {module_name(root, p): p for p in root.rglob("*.py")}
    out: dict[str, dict[str, int]] = {}
    for name, path in files.items():
        edges: dict[str, int] = {}
        for target, line in imports(path, name, set(files)):
            if target != name:
                edges.setdefault(target, line)
        out[name] = edges
    return out


def _layer(name: str) -> int:
    for i, prefixes in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return i
    return -1  # conformance/__init__.py: the package itself imports nothing


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(root: Path) -> list[str]:
    """Every broken rule, as 'file:line: what'."""
    found = []
    g = graph(root)
    for name, edges in sorted(g.items()):
        where = str(Path(*name.split(".")))
        for target, line in edges.items():
            at = f"{where}.py:{line}"
            if target.split(".")[0] == "tensorflow" and not _within(name, TENSORFLOW_ONLY_IN):
                found.append(f"{at}: imports TensorFlow (only {TENSORFLOW_ONLY_IN[0]} may)")
            if target.split(".")[0] in ("pytest", "_pytest") and not _within(name, PYTEST_ONLY_IN):
                found.append(f"{at}: imports pytest (only the harness may)")
            if not target.startswith("conformance"):
                continue
            if _within(name, ("conformance.oracle",)) and not _within(target, ("conformance.oracle",)):
                found.append(f"{at}: the oracle imports {target} (it imports nothing of the kit)")
            elif _layer(target) > _layer(name) >= 0:
                found.append(f"{at}: {name} (layer {_layer(name)}) imports {target} (layer {_layer(target)})")
    found += [f"import cycle: {' -> '.join(c)}" for c in cycles(g)]
    return found


def cycles(g: dict[str, dict[str, int]]) -> list[list[str]]:
    """The import cycles among kit modules (one per strongly connected component, Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, {}):
            if w not in g:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in g.get(v, {}):
                out.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_the_kit_keeps_its_layers() -> None:
    assert violations(PACKAGE) == []


def test_every_module_is_in_a_layer() -> None:
    unplaced = [n for n in graph(PACKAGE) if _layer(n) < 0 and n != "conformance"]
    assert unplaced == [], f"add these to LAYERS (and docs/architecture.md): {unplaced}"


@pytest.mark.parametrize(
    ("module", "added", "expected"),
    [
        ("run/data.py", "import pytest", "*run/data.py:*: imports pytest (only the harness may)"),
        ("checks/agreement.py", "import tensorflow", "*imports TensorFlow (only conformance.run.tfenv may)"),
        ("oracle/lstm.py", "from conformance.errors import CaseFileError", "*the oracle imports*"),
        (
            "casefile/case.py",
            "from conformance.verdict import judge",
            "*(layer 3) imports conformance.verdict.judge*",
        ),
        (
            "casefile/case.py",
            "from conformance.casefile import build",
            "*import cycle: *conformance.casefile.build*",
        ),
    ],
)
def test_a_forbidden_import_is_caught(tmp_path: Path, module: str, added: str, expected: str) -> None:
    """Each rule fails on a copy of the package with one forbidden import added."""
    copy = tmp_path / "conformance"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{added}\n", encoding="utf-8")
    found = violations(copy)
    assert any(__import__("fnmatch").fnmatch(v, expected) for v in found), found
