"""Case files are data: the kit never evaluates, unpickles or imports by name what a file says.

A grep over the kit's source (comments and strings left out) for the ways text becomes code or objects:
``eval(``, ``exec(``, pickle (and its relatives), YAML, ``allow_pickle=True``, ``__import__(`` and
``importlib.import_module(``. Each use must be allow-listed below, by file and enclosing function, with
the reason it is not driven by case data — or, for the one deliberate exception, what it means.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest
from conftest import REPO

KIT = REPO / "conformance"

FORBIDDEN = {
    "eval(": r"\beval\s*\(",
    "exec(": r"\bexec\s*\(",
    "pickle": r"\b(?:c?[pP]ickle|dill|shelve|marshal|joblib)\b",
    "yaml": r"\byaml\b",
    "allow_pickle=True": r"\ballow_pickle\s*=\s*True\b",
    "__import__(": r"\b__import__\s*\(",
    "importlib.import_module(": r"\bimport_module\s*\(",
}

# (file, enclosing function, what) -> why it is allowed. Keep each entry's reason true.
ALLOWED = {
    ("families/base.py", "oracle", "importlib.import_module("): (
        "imports a built-in family's oracle module by the fixed name in the FAMILIES registry "
        "(conformance.oracle.lstm); a case file only picks a family from schema.LAYERS"
    ),
    ("registry.py", "load", "importlib.import_module("): (
        "imports a registered path, check or report format by the fixed import path written in "
        "conformance/registry.py; a case file only picks names the schema validated against the registry"
    ),
    ("families/custom.py", "load_object", "importlib.import_module("): (
        "the one deliberate exception: layer = 'custom' names a user's cell as 'module:Class', imported when "
        "its item runs (never at collection). A case file with a [case.custom] table is code: trust it as "
        "you trust the module it names"
    ),
}


def code_only(source: str) -> list[str]:
    """The source's lines with comments and string literals blanked out (docstrings say 'pickle' freely)."""
    lines = source.splitlines()
    blank = {tokenize.COMMENT, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in blank:
            continue
        (row0, col0), (row1, col1) = tok.start, tok.end
        for row in range(row0, row1 + 1):
            line = lines[row - 1]
            start = col0 if row == row0 else 0
            end = col1 if row == row1 else len(line)
            lines[row - 1] = line[:start] + " " * (end - start) + line[end:]
    return lines


def enclosing_functions(source: str) -> dict[int, str]:
    """line -> the innermost function (or class) around it; module level is ''."""
    where: dict[int, str] = {}
    nodes = [n for n in ast.walk(ast.parse(source)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for node in sorted(nodes, key=lambda n: n.lineno):  # inner definitions come later and win
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
            where[line] = node.name
    return where


def findings(source: str, filename: str) -> list[tuple[str, str, str, int]]:
    """(file, function, what, line) for every forbidden construct in ``source``."""
    where = enclosing_functions(source)
    found = []
    for number, line in enumerate(code_only(source), start=1):
        for what, pattern in FORBIDDEN.items():
            if re.search(pattern, line):
                found.append((filename, where.get(number, ""), what, number))
    return found


def kit_findings() -> list[tuple[str, str, str, int]]:
    out = []
    for path in sorted(KIT.rglob("*.py")):
        out += findings(path.read_text(encoding="utf-8"), str(path.relative_to(KIT)))
    return out


def test_case_files_are_data() -> None:
    """No eval/exec/pickle/yaml/dynamic import in the kit except the allow-listed, reasoned places."""
    unexpected = [f for f in kit_findings() if f[:3] not in ALLOWED]
    assert not unexpected, "\n".join(
        f"conformance/{file}:{line} in {func or '<module>'}: {what} (allow-list it, or remove it)"
        for file, func, what, line in unexpected
    )


def test_the_kit_source_is_scanned() -> None:
    """The scan sees the kit: its files exist and the allow-listed oracle import is found where it is."""
    assert len(list(KIT.rglob("*.py"))) > 10
    assert ("families/base.py", "oracle", "importlib.import_module(") in {f[:3] for f in kit_findings()}


@pytest.mark.parametrize(
    "snippet, what",
    [
        ("x = eval(text)\n", "eval("),
        ("exec (code)\n", "exec("),
        ("import pickle\n", "pickle"),
        ("from yaml import safe_load\n", "yaml"),
        ("np.load(p, allow_pickle=True)\n", "allow_pickle=True"),
        ("m = __import__(name)\n", "__import__("),
        ("importlib.import_module(name)\n", "importlib.import_module("),
        ("def f():\n    return importlib.import_module(spec)\n", "importlib.import_module("),
    ],
)
def test_scanner_finds_each_construct(snippet: str, what: str) -> None:
    assert [f[2] for f in findings(snippet, "x.py")] == [what]


def test_scanner_ignores_comments_strings_and_lookalikes() -> None:
    source = (
        '"""Not a pickle, not yaml: eval(x) in a docstring."""\n'
        "# exec(code) in a comment\n"
        "message = f'no eval( here {value}'\n"
        "result = evaluate(case)\n"
        "execute(env)\n"
        "re.compile(pattern)\n"
    )
    assert findings(source, "x.py") == []


def test_scanner_names_the_enclosing_function() -> None:
    source = "def outer():\n    def inner():\n        return eval('1')\n    return inner\n"
    assert findings(source, "x.py") == [("x.py", "inner", "eval(", 3)]


def test_allow_list_entries_say_why() -> None:
    assert all(len(reason) > 40 for reason in ALLOWED.values())
    assert all(Path(KIT / file).exists() for file, _, _ in ALLOWED)


@pytest.mark.parametrize("method", ["save_weights", "save", "_private", "load_weights", "add_weight"])
def test_a_contract_cannot_call_a_method_with_side_effects(tmp_path: Path, method: str) -> None:
    """A contract is data: it may call the constructor, the layer, and side-effect-free methods only."""
    from conformance import casefile
    from conformance.errors import CaseFileError

    path = tmp_path / "c.toml"
    path.write_text(
        f'[[contract]]\nid = "x"\nlayer = "LSTM"\nargs = {{ units = 2 }}\ncall = "{method}"\n'
        f'call_args = {{ filepath = "/tmp/owned.weights.h5" }}\nexpect = {{ returns = "none" }}\n'
    )
    with pytest.raises(CaseFileError, match=r"key 'call': expected one of 'new', '__call__'"):
        casefile.load(path)
