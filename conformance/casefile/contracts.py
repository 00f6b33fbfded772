"""A ``[[contract]]`` table → a :class:`Contract`: one public call and the outcome it must have."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from conformance.casefile.case import Contract, Returns
from conformance.casefile.divergences import contract_divergence, regex
from conformance.casefile.schema import MAX_ELEMENTS
from conformance.errors import CaseFileError


def contract(raw: dict[str, Any], line: int) -> Contract:
    expect = raw["expect"]
    if ("returns" in expect) == ("raises" in expect):
        raise CaseFileError(
            "say exactly one of 'returns' (what comes back) or 'raises' (an exception)", key="expect"
        )
    if "match" in expect:
        regex(expect["match"], "expect.match")
    uses_inputs = (
        raw["call"] == "__call__"
        or raw.get("prepare") == "call"
        or "model" in raw
        or "{inputs}" in str(raw.get("call_args"))
    )
    if uses_inputs and "inputs" not in raw:
        raise CaseFileError("missing key: the call uses the inputs x, so give their shape", key="inputs")
    if math.prod(raw.get("inputs", ())) > MAX_ELEMENTS:
        raise CaseFileError(f"more than {MAX_ELEMENTS:,} elements in one tensor", key="inputs")
    for name, value in raw.get("call_args", {}).items():
        for i, arg in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(arg, dict) and ("numpy" in arg) == ("tensor" in arg):
                raise CaseFileError(
                    "an array argument says exactly one of numpy = [shape] or tensor = [shape]",
                    key=f"call_args.{name}" + (f"[{i}]" if isinstance(value, list) else ""),
                )
            shape: list[int] = (arg.get("numpy") or arg.get("tensor") or []) if isinstance(arg, dict) else []
            if math.prod(shape) > MAX_ELEMENTS:
                raise CaseFileError(
                    f"more than {MAX_ELEMENTS:,} elements in one array",
                    key=f"call_args.{name}" + (f"[{i}]" if isinstance(value, list) else ""),
                )
    returns = None
    if "returns" in expect:
        shapes = tuple(tuple(s) for s in expect["shapes"]) if "shapes" in expect else None
        returns = Returns(expect["returns"], expect.get("length"), shapes)
    divergences = tuple(contract_divergence(d, i) for i, d in enumerate(raw.get("divergence", [])))
    cell = (raw["cell"]["layer"], _kwargs(raw["cell"])) if "cell" in raw else None
    return Contract(
        id=raw["id"],
        source=Path(),
        line=line,
        layer=raw["layer"],
        args=_kwargs(raw),
        call=raw["call"],
        call_args=dict(raw.get("call_args", {})),
        cell=cell,
        inputs=tuple(raw["inputs"]) if "inputs" in raw else None,
        prepare=raw.get("prepare", "none"),
        model=raw.get("model"),
        returns=returns,
        raises=expect.get("raises"),
        match=expect.get("match"),
        divergences=divergences,
        description=raw.get("description", ""),
    )


def _kwargs(raw: dict[str, Any]) -> dict[str, Any]:
    """Constructor keywords as a user spells them: a shape (a TOML list) is a tuple."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in raw.get("args", {}).items()}
