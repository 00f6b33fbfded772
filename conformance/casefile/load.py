"""Case file → validated cases: parse TOML, validate, merge [defaults], expand the matrix.

One case table becomes a :class:`~conformance.casefile.case.Case` in :mod:`conformance.casefile.build`; a
contract table in :mod:`conformance.casefile.contracts`.

Everything that can be wrong with a file is found here, at collection, and raised as one
:class:`CaseFileError` naming the file, the line, the case and the key.
"""

from __future__ import annotations

import itertools
import math
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from conformance.casefile.build import build
from conformance.casefile.case import Case, Contract
from conformance.casefile.contracts import contract
from conformance.casefile.divergences import divergence, refuse_fails
from conformance.casefile.fields import check
from conformance.casefile.schema import (
    CASE_FILE,
    CASE_WRITTEN,
    CONTRACT,
    DEFAULTS,
    MAX_VARIANTS,
    OPTION_KEYS,
    SHARED_DIVERGENCE,
)
from conformance.errors import CaseFileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def load(path: Path) -> list[Case | Contract]:
    """Read one case file; every case variant and contract it defines, or a CaseFileError."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseFileError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=path) from None
    except OSError as exc:
        raise CaseFileError(f"cannot read: {exc.strerror}", path=path) from None
    try:
        data = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError; int() digit limit; deep nesting
        why = "arrays or tables nested too deeply" if isinstance(exc, RecursionError) else exc
        raise CaseFileError(f"not valid TOML: {why}", path=path) from None
    try:
        return [replace(entry, source=path) for entry in _entries(data, text)]
    except CaseFileError as exc:
        raise exc.located(path=path) from None


def _entries(data: dict[str, Any], text: str) -> Iterator[Case | Contract]:
    for key in data:
        if key not in CASE_FILE.fields:  # type: ignore[operator]
            raise CaseFileError(
                "unknown top-level key; a case file holds [defaults], [[case]], [[contract]] and "
                "[[divergence]] tables",
                key=key,
            )
    for key, table in (("case", "[[case]]"), ("contract", "[[contract]]"), ("divergence", "[[divergence]]")):
        if key in data and (not isinstance(data[key], list) or not data[key]):
            raise CaseFileError(f"'{key}' must be one or more tables, written {table}", key=key)
    if "case" not in data and "contract" not in data:
        raise CaseFileError(
            "no [[case]] tables: a case file holds [defaults] and one or more [[case]] "
            "(or [[contract]]) tables"
        )
    lines = _id_lines(text)
    defaults = data.get("defaults", {})
    try:
        refuse_fails(defaults, "defaults.")
        check(defaults, DEFAULTS, "defaults")
    except CaseFileError as exc:
        raise exc.located(case="[defaults]") from None
    shared = _shared_divergences(data, text)
    seen: set[str] = set()
    count = {"case": 0, "contract": 0}
    for kind, raw in [("case", r) for r in data.get("case", [])] + [
        ("contract", r) for r in data.get("contract", [])
    ]:
        entry_id = raw.get("id") if isinstance(raw, dict) else None
        count[kind] += 1
        label = entry_id if isinstance(entry_id, str) else f"#{count[kind]}"
        line = lines.get(label, 0) or None
        added: list[int] = []  # the file's [[divergence]] tables this case gets, after its own
        try:
            refuse_fails(raw, "")
            if kind == "contract":
                check(raw, CONTRACT, "")
            else:
                raw = _merge(defaults, raw) if isinstance(raw, dict) else raw
                raw, added = _with_shared(raw, shared)
                check(raw, CASE_WRITTEN, "")
            if entry_id in seen:
                raise CaseFileError("duplicate id in this file", key="id")
            seen.add(str(entry_id))
            if kind == "contract":
                yield contract(raw, line or 0)
            else:
                yield from _variants(raw, line or 0)
        except CaseFileError as exc:
            _name_shared(exc, raw, added)
            raise exc.located(case=label, line=line, kind=kind) from None


def _shared_divergences(data: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """The file's top-level [[divergence]] tables, each validated once (and named by its position in an
    error): every ``cases`` entry must be the id of one of the file's [[case]] tables."""
    tables = data.get("divergence", [])
    ids = [c.get("id") for c in data.get("case", []) if isinstance(c, dict)]
    headers = [
        n for n, t in enumerate(text.splitlines(), start=1) if re.match(r"\s*\[\[\s*divergence\s*\]\]", t)
    ]
    for j, table in enumerate(tables):
        try:
            refuse_fails({"divergence": [table]}, "")
            check(table, SHARED_DIVERGENCE, "")
            if not ids:
                raise CaseFileError(
                    "a file-wide divergence is added to the file's [[case]] tables, and this file has none "
                    "(a contract declares its own, as [[contract.divergence]])"
                )
            for i, case_id in enumerate(table.get("cases", [])):
                if case_id not in ids:
                    known = ", ".join(repr(c) for c in ids if isinstance(c, str)) or "none"
                    raise CaseFileError(
                        f"{case_id!r} is the id of no [[case]] of this file (its cases: {known})",
                        key=f"cases[{i}]",
                    )
            divergence({k: v for k, v in table.items() if k != "cases"}, 0)
        except CaseFileError as exc:
            exc.key = re.sub(r"^divergence\[0\]\.?", "", exc.key or "") or exc.key
            raise exc.located(
                case=f"#{j + 1}",
                kind="[[divergence]]",
                line=headers[j] if len(headers) == len(tables) else None,
            ) from None
    return tables


def _with_shared(raw: Any, shared: list[dict[str, Any]]) -> tuple[Any, list[int]]:
    """The case with the file's divergences that apply to it added after its own; which ones they are."""
    own = raw.get("divergence", []) if isinstance(raw, dict) else None
    if not isinstance(own, list) or not shared:  # a malformed own list is the schema's to report
        return raw, []
    added = [j for j, d in enumerate(shared) if raw.get("id") in d.get("cases", [raw.get("id")])]
    extra = [{k: v for k, v in shared[j].items() if k != "cases"} for j in added]
    return {**raw, "divergence": [*own, *extra]}, added


def _name_shared(exc: CaseFileError, raw: Any, added: list[int]) -> None:
    """An error in a divergence this case got from the file names that [[divergence]] table."""
    m = re.match(r"divergence\[(\d+)\](.*)", exc.key or "")
    own = len(raw.get("divergence", [])) - len(added) if isinstance(raw, dict) else 0
    if m and added and int(m.group(1)) >= own:
        j = added[int(m.group(1)) - own]
        exc.key = f"divergence[{j}]{m.group(2)}"
        exc.message += f" (in the file's [[divergence]] #{j + 1}, which this case gets)"


def _id_lines(text: str) -> dict[str, int]:
    """Line numbers of ``id = "..."`` lines: tomllib keeps none, and errors and reports want them."""
    found: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        m = re.match(r"""\s*id\s*=\s*(["'])(.*?)\1""", line)
        if m:
            found.setdefault(m.group(2), number)
    return found


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge tables (a case's keys win); lists and scalars replace."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _variants(raw: dict[str, Any], line: int) -> Iterator[Case]:
    matrix = raw.pop("matrix", {})
    names = list(matrix)  # the schema has checked each axis's values against its key's type
    count = math.prod(len(matrix[n]) for n in names)
    if count > MAX_VARIANTS:
        msg = f"{count:,} variants; the kit refuses more than {MAX_VARIANTS:,}"
        raise CaseFileError(msg, key="matrix")
    for combo in itertools.product(*(matrix[n] for n in names)):
        variant = dict(raw)
        variant["options"] = dict(raw.get("options", {}))
        for name, value in zip(names, combo):
            (variant["options"] if name in OPTION_KEYS else variant)[name] = value
        label = "-".join(f"{n}={_fmt(v)}" for n, v in zip(names, combo))
        yield build(variant, line, label)


def _fmt(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
