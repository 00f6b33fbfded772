"""Hostile case files, generated: each is ONE clean collection error naming the file and the key.

Hypothesis writes malformed files from a valid base — broken TOML, bytes that are not UTF-8, wrong types,
missing and unknown keys at every level of the format (walked from :mod:`conformance.casefile.schema`, so a
new key is covered without editing this file), absurd sizes, values outside an enum or pattern, bad version
specifiers and regular expressions, non-finite numbers, arrays nested too deeply, duplicate ids, broken
``[[contract]]`` tables — and checks the property the kit promises: loading raises :class:`CaseFileError`
(never another exception), its message names the file and, where the problem has one, the key, and it
carries no traceback or kit source location.

Most examples call :func:`conformance.casefile.load` directly (cheap); one pytester batch puts a few dozen
hostile files beside a valid one in a single run and checks one error per file and the valid file's items.
Examples are derandomized, so CI sees the same files every run. No TensorFlow needed.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import KIT_SOURCE, assert_no_kit_traceback, collected_ids
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from conformance import casefile
from conformance.casefile import schema
from conformance.casefile.fields import Field
from conformance.errors import CaseFileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# -- writing TOML ----------------------------------------------------------------------------------------


class Raw(str):
    """A TOML literal written as is (a date, ``1e400``): values Python cannot write back as TOML."""


def toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else toml_string(name)


def toml_string(text: str) -> str:
    # JSON escapes are TOML escapes; TOML also wants DEL escaped, and no surrogates exist in str here.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


@dataclass
class Doc:
    """A case file as data: top-level keys, ``[defaults]``, then ``[[case]]`` / ``[[contract]]`` tables."""

    top: dict[str, Any]
    defaults: dict[str, Any] | None
    entries: list[tuple[str, dict[str, Any]]]

    def render(self) -> str:
        lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in self.top.items()]
        if self.defaults is not None:
            lines += ["[defaults]", *(f"{toml_key(k)} = {toml_value(v)}" for k, v in self.defaults.items())]
        for kind, entry in self.entries:
            lines += ["", f"[[{kind}]]", *(f"{toml_key(k)} = {toml_value(v)}" for k, v in entry.items())]
        return "\n".join(lines) + "\n"


SIZES = {"batch": 2, "timesteps": 3, "features": 2, "units": 2}


def base_case(case_id: str = "victim") -> dict[str, Any]:
    return {"id": case_id, **SIZES, "devices": ["cpu"]}


def base_contract(contract_id: str = "victim") -> dict[str, Any]:
    return {"id": contract_id, "layer": "LSTM", "call": "new", "expect": {"returns": "object"}}


def base_doc(kind: str = "case") -> Doc:
    return Doc({}, None, [(kind, base_case() if kind == "case" else base_contract())])


# -- what an error must say ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    """A hostile file and what its error must name: one key of ``keys`` (None: a file-level error)."""

    category: str
    data: bytes
    keys: frozenset[str] | None
    says: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="backslashreplace")


def hostile(
    category: str, doc: Doc | str | bytes, key: str | None, *says: str, also: tuple[str, ...] = ()
) -> Hostile:
    data = doc.render().encode() if isinstance(doc, Doc) else doc.encode() if isinstance(doc, str) else doc
    keys = None if key is None else frozenset((key, *also))
    return Hostile(category, data, keys, says)


def key_of(path: tuple[str | int, ...]) -> str:
    """The key path as the kit writes it: ``divergence[0].when.tf``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# -- where a mutation goes: every key of the format, walked from the schema ------------------------------

# A list of tables gets this first element, so the mutated key is the only thing wrong with it.
LIST_BASE: dict[str, dict[str, Any]] = {"divergence": {"reason": "r", "raises": "E", "match": "x"}}


def put(doc: Doc, kind: str, path: tuple[str | int, ...], value: Any) -> str:
    """Set ``value`` at ``path`` of the entry (or of [defaults]); return the key the kit must name."""
    if path[0] == "defaults":
        doc.defaults = doc.defaults if doc.defaults is not None else {}
        target: Any = doc.defaults
        rest = path[1:]
    else:
        target = doc.entries[0][1] if kind != "top" else doc.top
        rest = path
    name = ""  # the key of the list being filled, for LIST_BASE
    for i, part in enumerate(rest[:-1]):
        following = rest[i + 1]
        fresh: Any = [] if isinstance(following, int) else {}
        if isinstance(part, int):
            if isinstance(fresh, dict):
                fresh.update(LIST_BASE.get(name, {}))
            while len(target) <= part:
                target.append(None)
            if not isinstance(target[part], (list, dict)):
                target[part] = fresh
        else:
            name = part
            if not isinstance(target.get(part), (list, dict)):
                target[part] = fresh
        target = target[part]
    last = rest[-1]
    if isinstance(last, int):
        while len(target) <= last:
            target.append(None)
    target[last] = value
    return key_of(path)


def walk(f: Field, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Field]]:
    """Every key below ``f`` with its field; a list contributes its first element ``[0]``."""
    if f.kind == "table" and f.fields is not None:
        for name, sub in f.fields.items():
            yield (*path, name), sub
            yield from walk(sub, (*path, name))
    elif f.kind == "table" and f.values is not None:  # a free-form map: one entry, named x
        yield (*path, "x"), f.values
    elif f.kind == "list" and f.items is not None:
        yield (*path, 0), f.items
        yield from walk(f.items, (*path, 0))


def tables(f: Field, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Field]]:
    """Every table with a fixed set of keys (where an unknown key is an error), ``f`` included."""
    if f.kind == "table" and f.fields is not None:
        yield path, f
    for sub_path, sub in walk(f, path):
        if sub.kind == "table" and sub.fields is not None:
            yield sub_path, sub


# (entry kind, path, field): cases (as written), [defaults], contracts. Keys under [defaults] start with it.
KEYS: list[tuple[str, tuple[str | int, ...], Field]] = [
    *(("case", p, f) for p, f in walk(schema.CASE_WRITTEN)),
    *(("case", ("defaults", *p), f) for p, f in walk(schema.DEFAULTS)),
    *(("contract", p, f) for p, f in walk(schema.CONTRACT)),
]
TABLES: list[tuple[str, tuple[str | int, ...], Field]] = [
    *(("case", p, f) for p, f in tables(schema.CASE_WRITTEN)),
    *(("case", ("defaults", *p), f) for p, f in tables(schema.DEFAULTS)),
    *(("contract", p, f) for p, f in tables(schema.CONTRACT)),
]

# -- the strategies, one per kind of hostility ---------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
dates = st.sampled_from([Raw("1979-05-27"), Raw("07:32:00"), Raw("1979-05-27T07:32:00Z")])
short_text = st.text(max_size=12)
ANY_VALUE = st.one_of(st.integers(-5, 5), short_text, st.booleans(), finite, dates)


def wrong_values(f: Field) -> st.SearchStrategy[Any]:
    """Values of another TOML type than ``f`` takes, such that the error is at ``f``'s own key."""
    tables_ = st.dictionaries(st.from_regex(r"[a-z]{1,5}", fullmatch=True), st.integers(0, 3), max_size=2)
    by_kind: dict[str, st.SearchStrategy[Any]] = {
        "string": st.one_of(st.integers(), st.booleans(), finite, st.lists(st.integers(), max_size=2), dates),
        "integer": st.one_of(
            short_text, st.booleans(), finite.filter(lambda x: x != int(x)), st.just(2.0), dates
        ),
        "number": st.one_of(short_text, st.booleans(), st.lists(finite, min_size=1, max_size=2), dates),
        "boolean": st.one_of(st.integers(), short_text, finite, dates),
        "list": st.one_of(st.integers(), short_text, tables_, dates),
        "table": st.one_of(st.integers(), short_text, st.lists(st.integers(), max_size=2), dates),
        "ndarray": st.one_of(short_text, st.booleans(), tables_, st.just([]), dates),
        # a free-form map's value: neither a scalar nor an array argument
        "any_of": st.one_of(st.lists(st.integers(), min_size=1, max_size=2), dates, st.just([[1.0]])),
    }
    return by_kind[f.kind]


@st.composite
def wrong_type(draw: st.DrawFn) -> Hostile:
    kind, path, f = draw(st.sampled_from(KEYS))
    doc = base_doc(kind)
    key = put(doc, kind, path, draw(wrong_values(f)))
    return hostile("wrong type", doc, key, "expected")


@st.composite
def unknown_key(draw: st.DrawFn) -> Hostile:
    kind, path, f = draw(st.sampled_from([("top", (), schema.CASE_FILE), *TABLES]))
    known = set(f.fields or {})
    name = draw(st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True), st.text(max_size=8)))
    assume(name not in known)
    doc = base_doc("case" if kind == "top" else kind)
    key = put(doc, kind, (*path, name), draw(ANY_VALUE))
    return hostile("unknown key", doc, key, "unknown")


def _without(entry: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in names}


def _case(**extra: Any) -> Doc:
    return Doc({}, None, [("case", {**base_case(), **extra})])


def _contract(*drop: str, **extra: Any) -> Doc:
    return Doc({}, None, [("contract", {**_without(base_contract(), *drop), **extra})])


MISSING: list[tuple[Callable[[], Doc], str]] = [
    (lambda: Doc({}, None, [("case", _without(base_case(), "id"))]), "id"),
    *((lambda s=s: Doc({}, None, [("case", _without(base_case(), s))]), s) for s in SIZES),
    (lambda: Doc({}, {"batch": 1}, [("case", _without(base_case(), "batch", "units"))]), "units"),
    (lambda: _case(divergence=[{"raises": "E"}]), "divergence[0].reason"),
    (lambda: _case(divergence=[{"reason": "r"}]), "divergence[0]"),
    (
        lambda: Doc({}, {"divergence": [{"raises": "E"}]}, [("case", base_case())]),
        "defaults.divergence[0].reason",
    ),
    (lambda: _case(inputs={"kind": "explicit"}), "inputs.array"),
    (lambda: _case(inputs={"kind": "constant"}), "inputs.value"),
    (lambda: _case(weights={"kind": "constant"}), "weights.value"),
    (lambda: _case(weights={"kind": "explicit"}), "weights.kernel"),
    (lambda: _case(weights={"kind": "explicit", "kernel": [[0.0] * 8] * 2}), "weights.recurrent_kernel"),
    (lambda: _case(initial_state={"kind": "explicit"}), "initial_state.states"),
    (lambda: _case(expect={"checks": ["values"]}), "expect.checks"),
    *((lambda k=k: _contract(k), k) for k in ("id", "layer", "call", "expect")),
    (lambda: _contract(cell={"args": {"units": 3}}), "cell.layer"),
    (lambda: _contract(expect={}), "expect"),
    (lambda: _contract(expect={"returns": "object", "raises": "TypeError"}), "expect"),
    (lambda: _contract(expect={"raises": "E", "length": 1}), "expect.length"),
    (lambda: _contract(expect={"returns": "object", "match": "x"}), "expect.match"),
    (lambda: _contract(call="__call__"), "inputs"),
    (lambda: _contract(prepare="call", call="reset_states"), "inputs"),
    (lambda: _contract(call="get_config", call_args={"x": "{inputs}"}), "inputs"),
    (lambda: _contract(call="get_config", call_args={"x": {"dtype": "float32"}}), "call_args.x"),
    (lambda: _contract(call="get_config", call_args={"x": {"numpy": [1], "tensor": [1]}}), "call_args.x"),
    (lambda: _contract(call="get_config", call_args={"x": [{"numpy": [1]}, {}]}), "call_args.x[1]"),
    (lambda: _contract(divergence=[{"reason": "r"}]), "divergence[0]"),
]


@st.composite
def missing_key(draw: st.DrawFn) -> Hostile:
    make, key = draw(st.sampled_from(MISSING))
    return hostile("missing or conflicting key", make(), key)


@st.composite
def absurd_size(draw: st.DrawFn) -> Hostile:
    where = draw(st.sampled_from(["case", "defaults", "matrix", "elements", "variants", "contract"]))
    size = draw(st.sampled_from(sorted(SIZES)))
    bad = draw(
        st.one_of(
            st.integers(max_value=0),
            st.integers(min_value=schema.MAX_DIM[size] + 1),
            st.integers(min_value=10**20, max_value=10**400),
        )
    )
    doc = base_doc()
    if where == "case":
        return hostile("absurd size", doc, put(doc, "case", (size,), bad), "expected an integer")
    if where == "defaults":
        doc.entries[0][1].pop(size)
        return hostile("absurd size", doc, put(doc, "case", ("defaults", size), bad), "expected an integer")
    if where == "matrix":
        return hostile("absurd size", doc, put(doc, "case", ("matrix", size), [1, bad]) + "[1]")
    if where == "elements":  # every size within its maximum, too many elements together
        sizes = {k: draw(st.integers(1, schema.MAX_DIM[k])) for k in SIZES}
        b, t, f, u = (sizes[k] for k in ("batch", "timesteps", "features", "units"))
        assume(max(b * t * max(f, u), 4 * u * max(f, u)) > schema.MAX_ELEMENTS)
        doc.entries[0][1].update(sizes)
        return hostile("absurd size", doc, "batch", "elements", also=("timesteps", "features", "units"))
    if where == "variants":
        # at least 24**3 = 13,824 variants: absurd whatever the limit is (it is 1,000)
        axes = draw(st.lists(st.sampled_from(sorted(SIZES)), min_size=3, max_size=4, unique=True))
        doc.entries[0][1]["matrix"] = {a: list(range(1, draw(st.integers(25, 40)))) for a in axes}
        return hostile("absurd size", doc, "matrix", "variants")
    doc = base_doc("contract")
    entry = doc.entries[0][1]
    if draw(st.booleans()):  # the shape of x
        shape = draw(st.lists(st.integers(1, 10**6), min_size=1, max_size=4))
        i = draw(st.integers(0, len(shape)))
        if i < len(shape) and draw(st.booleans()):
            shape[i] = draw(st.integers(max_value=0))
            entry["inputs"] = shape
            return hostile("absurd size", doc, f"inputs[{i}]")
        assume(math.prod(shape) > schema.MAX_ELEMENTS)
        entry["inputs"] = shape
        return hostile("absurd size", doc, "inputs", "elements")
    shape = draw(st.lists(st.integers(1000, 10**9), min_size=3, max_size=4))
    entry.update(call="get_config", call_args={"x": {draw(st.sampled_from(["numpy", "tensor"])): shape}})
    return hostile("absurd size", doc, "call_args.x", "elements")


def _enum_or_pattern(f: Field, value: str) -> bool:
    if f.enum is not None:
        return value in f.enum
    return f.pattern is not None and re.fullmatch(f.pattern, value) is not None


ENUM_KEYS = [
    (k, p, f) for k, p, f in KEYS if f.kind == "string" and (f.enum is not None or f.pattern is not None)
]


@st.composite
def unknown_name(draw: st.DrawFn) -> Hostile:
    """Unknown dtypes, paths, devices, layers, checks, flavours, kinds, class names, ids..."""
    kind, path, f = draw(st.sampled_from(ENUM_KEYS))
    name = draw(
        st.one_of(st.text(max_size=16), st.sampled_from(["float8", "tpu", "gru", "LSTM", "lstm ", ""]))
    )
    assume(not _enum_or_pattern(f, name))
    doc = base_doc(kind)
    return hostile("unknown name", doc, put(doc, kind, path, name))


def _is_specifier(text: str) -> bool:
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return False
    return True


def _is_regex(text: str) -> bool:
    try:
        re.compile(text)
    except (re.error, OverflowError, RecursionError):
        return False
    return True


@st.composite
def bad_specifier(draw: st.DrawFn) -> Hostile:
    text = draw(st.one_of(short_text, st.sampled_from(["2.16+", "newer than 2.16", ">=2.x", "3", "=>2"])))
    assume(not _is_specifier(text))
    kind = draw(st.sampled_from(["case", "contract", "defaults"]))
    which = draw(st.sampled_from(["tf", "keras"]))
    doc = base_doc("contract" if kind == "contract" else "case")
    prefix: tuple[str, ...] = ("defaults",) if kind == "defaults" else ()
    put(doc, "case" if kind == "defaults" else kind, (*prefix, "divergence", 0, "when", which), text)
    # Checked once [defaults] is merged into the case: the key is the case's own
    key = key_of(("divergence", 0, "when", which))
    return hostile("bad specifier", doc, key, "not a version specifier")


REGEX_ALPHABET = "()[]{}*+?\\|^$.a1,P<>=!:-"


@st.composite
def bad_regex(draw: st.DrawFn) -> Hostile:
    pattern = draw(
        st.one_of(
            st.text(alphabet=REGEX_ALPHABET, min_size=1, max_size=10),
            st.sampled_from(
                ["(", "[", "*a", "a{2,1}", "(?P<", "\\", "a{99999999999}", "(" * 3000 + ")" * 3000]
            ),
        )
    )
    assume(not _is_regex(pattern))
    if draw(st.booleans()):
        doc = base_doc()
        return hostile(
            "bad regex", doc, put(doc, "case", ("divergence", 0, "match"), pattern), "regular expression"
        )
    doc = _contract(expect={"raises": "TypeError", "match": pattern})
    return hostile("bad regex", doc, "expect.match", "regular expression")


NUMBER_KEYS = [(k, p, f) for k, p, f in KEYS if f.kind in ("number", "ndarray")]


@st.composite
def non_finite(draw: st.DrawFn) -> Hostile:
    """nan, infinities and integers past float64: they crashed the kit (OverflowError) or poisoned numbers."""
    kind, path, f = draw(st.sampled_from(NUMBER_KEYS))
    bad = draw(st.sampled_from([math.nan, math.inf, -math.inf, Raw("1e400"), 10**309, -(10**400)]))
    doc = base_doc(kind)
    if f.kind == "number":
        return hostile("non-finite number", doc, put(doc, kind, path, bad), "finite")
    depth = draw(st.integers(1, 3))
    value: Any = bad
    for _ in range(depth):
        value = [value]
    return hostile("non-finite number", doc, put(doc, kind, path, value) + "[0]" * depth, "finite")


@st.composite
def deep_nesting(draw: st.DrawFn) -> Hostile:
    """Arrays nested past any shape (ndarray keys), or past what the TOML parser can follow."""
    kind, path, _ = draw(st.sampled_from([k for k in NUMBER_KEYS if k[2].kind == "ndarray"]))
    depth = draw(st.integers(33, 120))
    doc = base_doc(kind)
    key = put(doc, kind, path, Raw("[" * depth + "1" + "]" * depth)) + "[0]" * 32
    if draw(st.integers(0, 4)) == 0:  # the parser's limit: no key to name, the file is refused as TOML
        doc = base_doc()
        doc.entries[0][1]["description"] = Raw("[" * 5000 + "]" * 5000)
        return hostile("deep nesting", doc, None, "nested too deeply")
    return hostile("deep nesting", doc, key, "nested")


@st.composite
def duplicate_id(draw: st.DrawFn) -> Hostile:
    kinds = draw(st.sampled_from([("case", "case"), ("case", "contract"), ("contract", "contract")]))
    entries = [(k, base_case() if k == "case" else base_contract()) for k in kinds]
    return hostile("duplicate id", Doc({}, None, entries), "id", "duplicate id")


TOP_LEVEL: list[tuple[Callable[[], Doc], str | None, str]] = [
    (lambda: Doc({"case": 1}, None, []), "case", "[[case]]"),
    (lambda: Doc({"case": []}, None, []), "case", "[[case]]"),
    (lambda: Doc({"contract": "x"}, None, []), "contract", "[[contract]]"),
    (lambda: Doc({"contract": []}, None, [("case", base_case())]), "contract", "[[contract]]"),
    (lambda: Doc({"defaults": 3}, None, [("case", base_case())]), "defaults", "expected a table"),
    (lambda: Doc({}, None, []), None, "no [[case]]"),
    (lambda: Doc({}, {"batch": 1}, []), None, "no [[case]]"),
    (lambda: Doc({"case": [1, 2]}, None, []), None, "expected a table"),
    (lambda: Doc({"contract": [[1]]}, None, []), None, "expected a table"),
]


@st.composite
def bad_top_level(draw: st.DrawFn) -> Hostile:
    make, key, says = draw(st.sampled_from(TOP_LEVEL))
    return hostile("bad top level", make(), key, says)


BREAKERS = [
    "x = = 1",
    'x = "unterminated',
    "[[case]",
    "[case",
    "x = [1, 2",
    "x = { a = 1",
    "= 1",
    "x = 1 2",
    "x = tru",
    "x = 1979-13-45",
    'x = "\\q"',
    "x = 0x",
    "x = 1__0",
    "x = .5",
    "batch = 1\nbatch = 2",
    "[defaults]\n[defaults]",
    "x = 'a' 'b'",
    "x = \x00",
    'x = "\x01"',
    "x = " + "9" * 5000,
    "\ufeffx = 1",
]


@st.composite
def broken_toml(draw: st.DrawFn) -> Hostile:
    lines = base_doc(draw(st.sampled_from(["case", "contract"]))).render().splitlines()
    at = draw(st.integers(0, len(lines)))
    lines.insert(at, draw(st.sampled_from(BREAKERS)))
    text = "\n".join(lines) + "\n"
    try:
        tomllib.loads(text)
        parses = True
    except (ValueError, RecursionError):
        parses = False
    assume(not parses)  # the breaker landed where it is still TOML
    return hostile("broken TOML", text, None, "not valid TOML")


INVALID_UTF8 = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf", b"\xe9"]


@st.composite
def not_utf8(draw: st.DrawFn) -> Hostile:
    data = base_doc(draw(st.sampled_from(["case", "contract"]))).render().encode()
    at = draw(st.integers(0, len(data)))
    data = data[:at] + draw(st.sampled_from(INVALID_UTF8)) + data[at:]
    return hostile("not UTF-8", data, None, "not UTF-8")


CATEGORIES: dict[str, Callable[[], st.SearchStrategy[Hostile]]] = {
    "wrong_type": wrong_type,
    "unknown_key": unknown_key,
    "missing_key": missing_key,
    "absurd_size": absurd_size,
    "unknown_name": unknown_name,
    "bad_specifier": bad_specifier,
    "bad_regex": bad_regex,
    "non_finite": non_finite,
    "deep_nesting": deep_nesting,
    "duplicate_id": duplicate_id,
    "bad_top_level": bad_top_level,
    "broken_toml": broken_toml,
    "not_utf8": not_utf8,
}
any_hostile = st.one_of(*(make() for make in CATEGORIES.values()))

# -- the properties --------------------------------------------------------------------------------------


def check_error(h: Hostile, path: Path, message: str, key: str | None) -> None:
    """One clean, specific error: the file, the key (where the problem has one), the words, no traceback."""
    context = f"{h.category} file:\n{h.text[:2000]}\nerror: {message}"
    assert str(path) in message, context
    assert "Traceback" not in message and KIT_SOURCE.search(message) is None, context
    if h.keys is not None:
        if key is None:  # from a report line: whichever allowed key it names
            key = next((k for k in h.keys if f"key {k!r}" in message), None)
        assert key in h.keys, f"key {key!r}, expected one of {sorted(h.keys)}\n{context}"
        assert f"key {key!r}" in message, context
    for fragment in h.says:
        assert fragment in message, f"{fragment!r} missing\n{context}"


EXAMPLES_PER_CATEGORY = 60  # 10 open-ended categories x 60 + 44 enumerated files = 644 files


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.mark.parametrize("category", list(CATEGORIES))
@settings(
    max_examples=EXAMPLES_PER_CATEGORY,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_hostile_file_is_one_clean_error(category: str, scratch: Path, data: st.DataObject) -> None:
    """casefile.load raises CaseFileError — never another exception — naming the file and the key."""
    h = data.draw(CATEGORIES[category](), label=category)
    path = scratch / f"{category}.toml"
    path.write_bytes(h.data)
    try:
        casefile.load(path)
    except CaseFileError as exc:
        check_error(h, path, str(exc), exc.key)
    else:
        pytest.fail(f"loaded without an error:\n{h.text[:2000]}")


def test_strategies_cover_every_key_of_the_format() -> None:
    """The walk reaches nested keys of every kind: a new key in schema.py is generated without edits here."""
    keys = {key_of(p) for _, p, _ in KEYS}
    for expected in (
        "options.return_state",
        "expect.tolerance.grad_atol",
        "divergence[0].when.tf",
        "matrix.batch[0]",
        "defaults.initial_state.args.x",
        "call_args.x",
        "cell.layer",
        "expect.shapes[0][0]",
    ):
        assert expected in keys, sorted(keys)


GOOD = '[[case]]\nid = "good"\nbatch = 1\ntimesteps = 2\nfeatures = 2\nunits = 2\ndevices = ["cpu"]\n'
GOOD_ITEMS = sorted(f"good[{p}-call-eager-float32-cpu]" for p in schema.PATHS)


@settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # each example is a whole pytest run: no shrinking
    suppress_health_check=list(HealthCheck),  # pytester is function-scoped: each example cleans its folder
)
@given(st.lists(any_hostile, min_size=30, max_size=30))
def test_hostile_files_beside_a_valid_one(pytester: pytest.Pytester, batch: list[Hostile]) -> None:
    """One pytest run, 30 hostile files beside a valid one: one error per hostile file, the valid items."""
    folder = pytester.path / "hostile"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / "aaa_good.toml").write_text(GOOD)  # collected first: the duplicate below is the one refused
    files = {f"h{i:02d}.toml": h for i, h in enumerate(batch)}
    files["zz_dup.toml"] = hostile("duplicate id across files", GOOD, "id", "also defined in")
    for name, h in files.items():
        (folder / name).write_bytes(h.data)
    result = pytester.runpytest("--co", "-q", "-p", "no:randomly", "--conformance-cases", "hostile")
    output = result.stdout.str() + "\n" + result.stderr.str()
    assert_no_kit_traceback(output)
    assert result.parseoutcomes().get("errors") == len(files), output
    listed = sorted(i.split("::", 1)[1] for i in collected_ids(result.outlines))
    assert listed == GOOD_ITEMS, output
    for name, h in files.items():
        path = folder / name
        assert output.count(f"ERROR collecting hostile/{name}") == 1, f"{name}: {h.category}\n{output}"
        lines = [line for line in output.splitlines() if line.startswith(f"{path}")]
        assert len(lines) == 1, f"{name} ({h.category}): {lines}\n{output}"
        check_error(h, path, lines[0], None)
