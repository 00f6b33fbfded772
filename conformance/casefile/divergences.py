"""``[[case.divergence]]`` and ``[[contract.divergence]]`` tables → :class:`Divergence` values.

A divergence says what happens instead: a raise of an exact class with a message pattern, or (a case)
what differs, by check and subject, or (a contract) the other outcome. The subjects a case names are
checked against the checks' vocabularies and the layer's states and weights (:func:`check_subjects`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from conformance import registry
from conformance.casefile.case import Differs, Divergence, Returns
from conformance.casefile.schema import PATHS
from conformance.errors import CaseFileError

_MIGRATE = (
    "'fails' excused whole checks and is gone: say what differs, e.g. "
    'differs = [{ check = "agreement", what = ["output"] }] (docs/case-format.md#divergence)'
)


def _specifier(raw: dict[str, Any], name: str, key: str) -> SpecifierSet | None:
    if name not in raw:
        return None
    try:
        return SpecifierSet(raw[name])
    except InvalidSpecifier:
        raise CaseFileError(
            f"not a version specifier: {raw[name]!r} (write e.g. '>=2.16' or '<2.16,>=2.12')",
            key=f"{key}.{name}",
        ) from None


def _conditions(raw: dict[str, Any], key: str) -> dict[str, Any]:
    when = raw.get("when", {})
    if "match" in raw:
        regex(raw["match"], f"{key}.match")
    return {
        "reason": raw["reason"],
        "tf": _specifier(when, "tf", f"{key}.when"),
        "keras": _specifier(when, "keras", f"{key}.when"),
        "flavours": tuple(when["flavour"]) if "flavour" in when else None,
        "devices": tuple(when["device"]) if "device" in when else None,
        "dtypes": tuple(when["dtype"]) if "dtype" in when else None,
        "modes": tuple(when["mode"]) if "mode" in when else None,
        "layers": tuple(when["layer"]) if "layer" in when else None,
        "raises": raw.get("raises"),
        "match": raw.get("match"),
        "link": raw.get("link"),
    }


def divergence(raw: dict[str, Any], index: int) -> Divergence:
    """A case's divergence: raises (exact class, with match) or differs (what, by check and subject)."""
    key = f"divergence[{index}]"
    if ("raises" in raw) == ("differs" in raw):
        raise CaseFileError(
            "say exactly one of 'raises' (the exact exception class, with match) or 'differs' (what differs, "
            "by check and subject)",
            key=key,
        )
    differs = []
    for i, entry in enumerate(raw.get("differs", [])):
        if "match" in entry:
            regex(entry["match"], f"{key}.differs[{i}].match")
        steps = tuple(sorted(entry["steps"])) if "steps" in entry else None
        differs.append(Differs(entry["check"], tuple(entry["what"]), steps, entry.get("match")))
    return Divergence(
        paths=tuple(raw.get("paths", PATHS)),
        differs=tuple(differs),
        instead=raw.get("instead"),
        **_conditions(raw, key),
    )


def contract_divergence(raw: dict[str, Any], index: int) -> Divergence:
    """A contract's divergence: the other outcome the call has — raises (with match) or returns."""
    key = f"divergence[{index}]"
    if ("raises" in raw) == ("returns" in raw):
        raise CaseFileError(
            "say exactly one of 'raises' (the exact exception class, with match) or 'returns' (the container "
            "returned instead, with length and shapes)",
            key=key,
        )
    returns = None
    if "returns" in raw:
        shapes = tuple(tuple(s) for s in raw["shapes"]) if "shapes" in raw else None
        returns = Returns(raw["returns"], raw.get("length"), shapes)
    return Divergence(paths=("contract",), returns=returns, **_conditions(raw, key))


def check_subjects(divergences: Sequence[Divergence], states: Sequence[str], weights: Sequence[str]) -> None:
    """Each subject a divergence names is one its check reports for this layer (a typo is an error here,
    not a divergence that silently matches nothing)."""
    entries = registry.by_name((*registry.CHECKS, *registry.OPTION_CHECKS))
    for i, d in enumerate(divergences):
        for j, entry in enumerate(d.differs):
            known = _subjects(entries[entry.check].subjects, states, weights)
            for k, pattern in enumerate(entry.what):
                if not any(fnmatch.fnmatchcase(s, pattern) for s in known):
                    raise CaseFileError(
                        f"{pattern!r} names nothing check {entry.check!r} reports for this layer; its "
                        f"subjects: {', '.join(known)}",
                        key=f"divergence[{i}].differs[{j}].what[{k}]",
                    )


def _subjects(patterns: Sequence[str], states: Sequence[str], weights: Sequence[str]) -> list[str]:
    out: list[str] = []
    for p in patterns:
        if "{state}" in p:
            out += [p.replace("{state}", s) for s in states]
        elif "{weight}" in p:
            out += [p.replace("{weight}", w) for w in weights]
        else:
            out.append(p)
    return out


def regex(pattern: str, key: str) -> None:
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise CaseFileError(f"not a regular expression: {why}", key=key) from None


def refuse_fails(raw: Any, where: str) -> None:
    """The old 'fails' key, refused with how to say it now (it would otherwise be 'unknown key')."""
    if isinstance(raw, dict):
        for i, d in enumerate(raw.get("divergence", []) if isinstance(raw.get("divergence"), list) else []):
            if isinstance(d, dict) and "fails" in d:
                raise CaseFileError(_MIGRATE, key=f"{where}divergence[{i}].fails")
