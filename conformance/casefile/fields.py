"""A small declarative field language: one description serves the validator and the JSON Schema.

The case format is written once (in :mod:`conformance.schema`) as ``Field`` trees. ``check`` walks a
parsed TOML value against a field and raises :class:`CaseFileError` naming the key path, what was expected
and what was found (with a "did you mean" for misspelled keys); ``to_json_schema`` renders the same tree as
JSON Schema for editors. Keeping both in one place is what keeps them in agreement.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.errors import CaseFileError

_JSON_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "table": "object",
    "list": "array",
    "ndarray": "array",
}


@dataclass(frozen=True)
class Field:
    """One key's contract. ``kind`` is string, integer, number, boolean, table, list, ndarray or any_of."""

    kind: str
    doc: str = ""
    required: bool = False
    default: Any = None
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    items: Field | None = None  # list element
    fields: Mapping[str, Field] | None = None  # table keys; None with values= means a free-form map
    values: Field | None = None  # free-form map value type
    options: tuple[Field, ...] = ()  # any_of alternatives
    min_items: int | None = None
    unique: bool = False
    # {"kind": {"explicit": ("value",)}}: when key 'kind' has value 'explicit', 'value' is required.
    requires: Mapping[str, Mapping[Any, tuple[str, ...]]] = field(default_factory=dict)
    # {"kind": {"random": ("seed", "scale")}}: keys allowed only for those values of 'kind' (others refuse).
    only_with: Mapping[str, Mapping[str, tuple[Any, ...]]] = field(default_factory=dict)
    # {"match": ("raises",)}: when 'match' is given, 'raises' must be given too.
    depends: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def describe(value: Any) -> str:
    """How a found value reads in an error: its TOML type and a short repr."""
    kind = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kind} {text}"


def expected(f: Field) -> str:
    """A short phrase for what a field accepts."""
    if f.enum is not None:
        return "one of " + ", ".join(repr(v) for v in f.enum)
    if f.kind == "any_of":
        return " or ".join(expected(o) for o in f.options)
    if f.kind == "list" and f.items is not None:
        return f"a list of {expected(f.items)}"
    if f.kind == "ndarray":
        return "a number or a nested list of numbers"
    noun = {
        "string": "a string",
        "integer": "an integer",
        "number": "a number",
        "boolean": "true or false",
        "table": "a table",
    }[f.kind]
    if f.minimum is not None and f.maximum is not None:
        noun += f" from {f.minimum:g} to {f.maximum:g}"
    elif f.minimum is not None:
        noun += f" >= {f.minimum:g}"
    return noun


def _key(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def _fail(path: str, f: Field, value: Any, extra: str = "") -> CaseFileError:
    msg = f"expected {expected(f)}, found {describe(value)}"
    return CaseFileError(msg + (f" ({extra})" if extra else ""), key=path or None)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    """NaN, infinities and integers past float64 would crash or poison the numbers made from them."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _check_ndarray(value: Any, path: str, f: Field, depth: int = 0) -> None:
    if _is_number(value):
        if not _finite(value):
            raise _fail(path, f, value, "not a finite float64")
        return
    if not isinstance(value, list) or not value or depth >= 32:
        raise _fail(path, f, value, "nested more than 32 levels" if depth >= 32 else "")
    for i, v in enumerate(value):
        _check_ndarray(v, _key(path, i), f, depth + 1)


def check(value: Any, f: Field, path: str = "") -> Any:
    """Validate ``value`` against ``f``; return it unchanged or raise :class:`CaseFileError`."""
    kind = f.kind
    if kind == "any_of":
        for option in f.options:
            try:
                return check(value, option, path)
            except CaseFileError:
                continue
        raise _fail(path, f, value)
    if kind == "string" and not isinstance(value, str):
        raise _fail(path, f, value)
    if kind == "boolean" and not isinstance(value, bool):
        raise _fail(path, f, value)
    if kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        raise _fail(path, f, value)
    if kind == "number" and not _is_number(value):
        raise _fail(path, f, value)
    if kind == "number" and not _finite(value):
        raise _fail(path, f, value, "not a finite float64")
    if kind == "ndarray":
        _check_ndarray(value, path, f)
        return value
    if f.enum is not None and value not in f.enum:
        hint = _suggest(value, [str(e) for e in f.enum]) if isinstance(value, str) else ""
        raise _fail(path, f, value, hint)
    if f.minimum is not None and _is_number(value) and value < f.minimum:
        raise _fail(path, f, value)
    if f.maximum is not None and _is_number(value) and value > f.maximum:
        raise _fail(path, f, value)
    if f.pattern is not None and isinstance(value, str) and not re.fullmatch(f.pattern, value):
        raise _fail(path, f, value, f"must match {f.pattern}")
    if kind == "list":
        if not isinstance(value, list):
            raise _fail(path, f, value)
        if f.min_items is not None and len(value) < f.min_items:
            raise _fail(path, f, value, f"at least {f.min_items} item(s)")
        if f.unique and len({repr(v) for v in value}) != len(value):
            raise _fail(path, f, value, "items must not repeat")
        for i, item in enumerate(value):
            check(item, f.items or Field("any_of"), _key(path, i))
    if kind == "table":
        _check_table(value, f, path)
    return value


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def _check_table(value: Any, f: Field, path: str) -> None:
    if not isinstance(value, dict):
        raise _fail(path, f, value)
    if f.fields is None:  # free-form map
        for name, v in value.items():
            if f.values is not None:
                check(v, f.values, _key(path, name))
        return
    for name, v in value.items():
        if name not in f.fields:
            known = sorted(f.fields)
            hint = _suggest(name, known) or "known keys: " + ", ".join(known)
            raise CaseFileError(f"unknown key; {hint}", key=_key(path, name))
        check(v, f.fields[name], _key(path, name))
    for name, sub in f.fields.items():
        if sub.required and name not in value:
            raise CaseFileError(f"missing required key ({expected(sub)})", key=_key(path, name))
    for selector, by_value in f.requires.items():
        for name in by_value.get(value.get(selector), ()):
            if name not in value:
                raise CaseFileError(
                    f"missing key: required when {selector} = {value.get(selector)!r}", key=_key(path, name)
                )
    for name, needed in f.depends.items():
        for other in needed:
            if name in value and other not in value:
                raise CaseFileError(f"only allowed together with {other!r}", key=_key(path, name))
    for name, by_selector in f.only_with.items():
        for selector, allowed in by_selector.items():
            current = value.get(selector, f.fields[selector].default)
            if name in value and current not in allowed:
                raise CaseFileError(
                    f"only allowed when {selector} is one of {', '.join(map(repr, allowed))}, "
                    f"found {selector} = {current!r}",
                    key=_key(path, name),
                )


def to_json_schema(f: Field) -> dict[str, Any]:
    """Render a field tree as a JSON Schema (draft 2020-12) fragment."""
    out: dict[str, Any] = {}
    if f.doc:
        out["description"] = f.doc
    if f.default is not None:
        out["default"] = f.default
    if f.kind == "any_of":
        out["anyOf"] = [to_json_schema(o) for o in f.options]
        return out
    if f.kind == "ndarray":
        out["$ref"] = "#/$defs/ndarray"
        return out
    out["type"] = _JSON_TYPES[f.kind]
    if f.enum is not None:
        out["enum"] = list(f.enum)
    if f.minimum is not None:
        out["minimum"] = f.minimum
    if f.maximum is not None:
        out["maximum"] = f.maximum
    if f.pattern is not None:
        out["pattern"] = f"^(?:{f.pattern})$"
    if f.kind == "list":
        if f.items is not None:
            out["items"] = to_json_schema(f.items)
        if f.min_items is not None:
            out["minItems"] = f.min_items
        if f.unique:
            out["uniqueItems"] = True
    if f.kind == "table":
        if f.fields is None:
            if f.values is not None:
                out["additionalProperties"] = to_json_schema(f.values)
        else:
            out["properties"] = {name: to_json_schema(sub) for name, sub in f.fields.items()}
            out["additionalProperties"] = False
            required = [name for name, sub in f.fields.items() if sub.required]
            if required:
                out["required"] = required
            conditions = []
            for selector, by_value in f.requires.items():
                for sel_value, names in by_value.items():
                    conditions.append(
                        {
                            "if": {"properties": {selector: {"const": sel_value}}, "required": [selector]},
                            "then": {"required": list(names)},
                        }
                    )
            for name, by_selector in f.only_with.items():
                for selector, allowed in by_selector.items():
                    then: dict[str, Any] = {"properties": {selector: {"enum": list(allowed)}}}
                    if f.fields[selector].default not in allowed:
                        then["required"] = [selector]
                    conditions.append({"if": {"required": [name]}, "then": then})
            if conditions:
                out["allOf"] = conditions
            if f.depends:
                out["dependentRequired"] = {k: list(v) for k, v in f.depends.items()}
    return out


NDARRAY_DEF = {
    "description": "A number or a nested list of numbers (an array written out).",
    "anyOf": [{"type": "number"}, {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/ndarray"}}],
}
