"""``[[case.divergence]]`` and ``[[contract.divergence]]`` tables → :class:`Divergence` values."""

from __future__ import annotations

import re
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from conformance.casefile import schema
from conformance.casefile.case import Divergence
from conformance.errors import CaseFileError


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


def divergence(raw: dict[str, Any], index: int) -> Divergence:
    key = f"divergence[{index}]"
    if ("raises" in raw) == ("fails" in raw):
        raise CaseFileError(
            "say exactly one of 'raises' (an exception) or 'fails' (a list of checks)", key=key
        )
    if "match" in raw:
        regex(raw["match"], f"{key}.match")
    when = raw.get("when", {})
    return Divergence(
        reason=raw["reason"],
        paths=tuple(raw.get("paths", schema.PATHS)),
        tf=_specifier(when, "tf", f"{key}.when"),
        keras=_specifier(when, "keras", f"{key}.when"),
        flavours=tuple(when["flavour"]) if "flavour" in when else None,
        devices=tuple(when["device"]) if "device" in when else None,
        dtypes=tuple(when["dtype"]) if "dtype" in when else None,
        modes=tuple(when["mode"]) if "mode" in when else None,
        raises=raw.get("raises"),
        match=raw.get("match"),
        fails=tuple(raw.get("fails", ())),
        link=raw.get("link"),
    )


def regex(pattern: str, key: str) -> None:
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise CaseFileError(f"not a regular expression: {why}", key=key) from None
