"""Case file → validated cases: parse TOML, validate, merge [defaults], expand the matrix.

Everything that can be wrong with a file is found here, at collection, and raised as one
:class:`CaseFileError` naming the file, the line, the case and the key.
"""

from __future__ import annotations

import itertools
import math
import re
import sys
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from conformance import schema
from conformance.case import (
    LAYER_OPTIONS,
    SINGLE,
    Case,
    Contract,
    CustomSpec,
    DataSpec,
    Divergence,
    Expect,
    InitialStateSpec,
    MaskSpec,
    Options,
    Returns,
    Structure,
    Tolerance,
)
from conformance.errors import CaseFileError
from conformance.families import Family, family
from conformance.fields import check
from conformance.structure import compose

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
        if key not in schema.CASE_FILE.fields:  # type: ignore[operator]
            raise CaseFileError(
                "unknown top-level key; a case file holds [defaults], [[case]] and [[contract]] tables",
                key=key,
            )
    for key, table in (("case", "[[case]]"), ("contract", "[[contract]]")):
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
        check(defaults, schema.DEFAULTS, "defaults")
    except CaseFileError as exc:
        raise exc.located(case="[defaults]") from None
    seen: set[str] = set()
    count = {"case": 0, "contract": 0}
    for kind, raw in [("case", r) for r in data.get("case", [])] + [
        ("contract", r) for r in data.get("contract", [])
    ]:
        entry_id = raw.get("id") if isinstance(raw, dict) else None
        count[kind] += 1
        label = entry_id if isinstance(entry_id, str) else f"#{count[kind]}"
        line = lines.get(label, 0) or None
        try:
            if kind == "contract":
                check(raw, schema.CONTRACT, "")
            else:
                raw = _merge(defaults, raw) if isinstance(raw, dict) else raw
                check(raw, schema.CASE_WRITTEN, "")
            if entry_id in seen:
                raise CaseFileError("duplicate id in this file", key="id")
            seen.add(str(entry_id))
            if kind == "contract":
                yield _contract(raw, line or 0)
            else:
                yield from _variants(raw, line or 0)
        except CaseFileError as exc:
            raise exc.located(case=label, line=line, kind=kind) from None


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
    if count > schema.MAX_VARIANTS:
        msg = f"{count:,} variants; the kit refuses more than {schema.MAX_VARIANTS:,}"
        raise CaseFileError(msg, key="matrix")
    for combo in itertools.product(*(matrix[n] for n in names)):
        variant = dict(raw)
        variant["options"] = dict(raw.get("options", {}))
        for name, value in zip(names, combo):
            (variant["options"] if name in schema.OPTION_KEYS else variant)[name] = value
        label = "-".join(f"{n}={_fmt(v)}" for n, v in zip(names, combo))
        yield _build(variant, line, label)


def _fmt(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _default_seed(case_id: str, what: str) -> int:
    """Stable per-case seeds, so two cases of the same sizes do not test the same numbers."""
    return zlib.crc32(f"{case_id}:{what}".encode())


def _build(raw: dict[str, Any], line: int, variant: str) -> Case:
    case_id = raw["id"]
    for size in schema.REQUIRED_SIZES:
        if size not in raw:
            raise CaseFileError(
                "missing required key (an integer >= 1; in the case, [defaults] or the matrix)", key=size
            )
    layer = raw.get("layer", "lstm")
    custom = _custom(raw, layer)
    fam = None if custom else family(layer)
    sizes = {k: raw[k] for k in ("batch", "timesteps", "features", "units")}
    elements = max(
        sizes["batch"] * sizes["timesteps"] * max(sizes["features"], sizes["units"]),
        4 * sizes["units"] * max(sizes["features"], sizes["units"]),  # an LSTM's kernels (4 gates)
    )
    if elements > schema.MAX_ELEMENTS:
        raise CaseFileError(
            f"sizes {sizes} make {elements:,} elements in one tensor; the kit refuses more than "
            f"{schema.MAX_ELEMENTS:,} (they would exhaust memory rather than test anything)",
            key="matrix" if variant else max(sizes, key=lambda k: sizes[k]),
        )
    options = _options(raw.get("options", {}), fam, raw.get("paths", schema.PATHS), custom)
    structure = _structure(raw, options, custom)
    if fam is not None and structure.kind != "single":
        fam = compose(structure, fam, sizes["features"], sizes["units"], options)
    b, t, f = sizes["batch"], sizes["timesteps"], sizes["features"]
    inputs = _data_spec(raw.get("inputs", {}), case_id, "inputs", {"array": (b, t, f)}, "inputs")
    mask = _mask(raw["mask"], b, t) if "mask" in raw else None
    if mask is not None and mask.via == "masking_layer" and inputs.kind == "constant" and not inputs.value:
        raise CaseFileError(
            "inputs of constant 0 are all masked by keras.layers.Masking(0.0): use other inputs", key="inputs"
        )
    # A custom cell's states and weights are known only once it is built: their shapes are checked then.
    weight_shapes = fam.weight_shapes(f, sizes["units"], options) if fam else {}
    weights = _data_spec(raw.get("weights", {}), case_id, "weights", weight_shapes, "weights")
    n_states = fam.n_states if fam else None
    init = _initial_state(raw.get("initial_state", {}), case_id, n_states, (b, sizes["units"]))
    if init.on == "layer" and "manual_loop" in raw.get("paths", schema.PATHS):
        raise CaseFileError(
            "the manual loop has no layer: on = 'layer' needs paths without manual_loop (or on = 'cell')",
            key="initial_state.on",
        )
    out_units = (fam.output_units if fam else None) or sizes["units"]
    expect = _expect(raw.get("expect", {}), options, n_states, {**sizes, "output_units": out_units})
    divergences = tuple(_divergence(d, i) for i, d in enumerate(raw.get("divergence", [])))
    return Case(
        id=case_id,
        source=Path(),
        line=line,
        layer=layer,
        **sizes,
        options=options,
        paths=tuple(raw.get("paths", schema.PATHS)),
        dtypes=tuple(raw.get("dtypes", ("float32",))),
        devices=tuple(raw.get("devices", schema.DEVICES)),
        inputs=inputs,
        weights=weights,
        initial_state=init,
        expect=expect,
        divergences=divergences,
        variant=variant,
        description=raw.get("description", ""),
        custom=custom,
        modes=tuple(raw.get("modes", ("eager",))),
        mask=mask,
        structure=structure,
    )


def _structure(raw: dict[str, Any], options: Options, custom: CustomSpec | None) -> Structure:
    """stack = N or [bidirectional]; what each cannot be combined with is refused here, by name."""
    if "stack" in raw and "bidirectional" in raw:
        raise CaseFileError(
            "say one of stack or bidirectional (a stack of bidirectional layers is two layers)", key="stack"
        )
    key = "stack" if "stack" in raw else "bidirectional" if "bidirectional" in raw else None
    if key is None:
        return SINGLE
    if custom is not None:
        raise CaseFileError(
            "a custom cell runs alone: stack and bidirectional take the built-in families", key=key
        )
    if key == "stack" and "fused_layer" in raw.get("paths", schema.PATHS):
        raise CaseFileError(
            "no fused layer stacks cells: stack needs paths without fused_layer (manual_loop, rnn_wrapper)",
            key="stack",
        )
    if key == "bidirectional" and raw.get("initial_state", {}).get("kind") == "get_initial_state":
        raise CaseFileError(
            "Bidirectional has no get_initial_state of its own (each direction's layer has one): use kind "
            "'none', 'zeros', 'random' or 'explicit'",
            key="initial_state.kind",
        )
    if raw.get("weights", {}).get("kind") == "explicit":
        raise CaseFileError(
            f"explicit weights name one cell's kernel, recurrent_kernel and bias; a {key} layer has one set "
            "per cell: use kind 'random' or 'constant'",
            key="weights.kind",
        )
    # Bidirectional sets its layers' zero_output_for_mask itself (to return_sequences): a case's own
    # value would be overridden, so it is refused rather than silently ignored.
    refused = (
        ("stateful", "go_backwards", "zero_output_for_mask") if key == "bidirectional" else ("stateful",)
    )
    for name in refused:
        if getattr(options, name):
            why = (
                "Bidirectional sets its layers' zero_output_for_mask to return_sequences itself"
                if name == "zero_output_for_mask"
                else f"not checked together with {key} (the kit's references do not compose them)"
            )
            raise CaseFileError(why, key=f"options.{name}")
    if key == "stack":
        return Structure("stacked", cells=raw["stack"])
    return Structure("bidirectional", merge_mode=raw["bidirectional"].get("merge_mode", "concat"))


def _options(raw: dict[str, Any], fam: Family | None, paths: list[str], custom: CustomSpec | None) -> Options:
    """The family's options only: an option a family does not have is refused, never silently dropped."""
    if fam is not None:
        takes = [n for n in schema.OPTION_KEYS if n in LAYER_OPTIONS or n in fam.cell_options]
        for name in raw:
            if name not in takes:
                raise CaseFileError(
                    f"not an option of layer {fam.name!r} (it takes {', '.join(takes)})",
                    key=f"options.{name}",
                )
    elif custom is not None:
        for name in raw:
            if name not in LAYER_OPTIONS:
                raise CaseFileError(
                    "a custom cell takes its own arguments in custom.args; options holds layer options "
                    f"({', '.join(LAYER_OPTIONS)})",
                    key=f"options.{name}",
                )
    if raw.get("stateful") and "manual_loop" in paths:
        raise CaseFileError(
            "a manual loop holds its states itself: stateful = true needs paths without manual_loop",
            key="options.stateful",
        )
    return Options(**raw, given=frozenset(raw))


def _mask(raw: dict[str, Any], batch: int, timesteps: int) -> MaskSpec:
    lengths = tuple(raw["lengths"])
    if len(lengths) != batch:
        raise CaseFileError(
            f"{len(lengths)} lengths for a batch of {batch}: give one per row", key="mask.lengths"
        )
    if max(lengths) > timesteps:
        raise CaseFileError(
            f"a length of {max(lengths)} in a sequence of {timesteps} steps", key="mask.lengths"
        )
    return MaskSpec(lengths, raw.get("padding", "right"), raw.get("via", "argument"))


def _custom(raw: dict[str, Any], layer: str) -> CustomSpec | None:
    """layer = "custom" goes with a [case.custom] table, and only then; its limits are checked here."""
    if layer != "custom":
        if "custom" in raw:
            raise CaseFileError("only allowed with layer = 'custom'", key="custom")
        return None
    if "custom" not in raw:
        raise CaseFileError("missing key: layer = 'custom' needs custom.cell = 'module:Class'", key="custom")
    spec = raw["custom"]
    if "fused_layer" in raw.get("paths", schema.PATHS) and "layer" not in spec:
        raise CaseFileError(
            "the fused_layer path needs custom.layer = 'module:Class' (or leave fused_layer out of paths)",
            key="custom.layer",
        )
    if raw.get("weights", {}).get("kind") == "explicit":
        raise CaseFileError(
            "a custom cell's weights are read off the built cell: use kind 'random' or 'constant'",
            key="weights.kind",
        )
    return CustomSpec(
        cell=spec["cell"],
        layer=spec.get("layer"),
        reference=spec.get("reference"),
        args=dict(spec.get("args", {})),
    )


def _shape_of(value: Any, key: str) -> tuple[int, ...]:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except ValueError:
        raise CaseFileError(
            "ragged nested list: rows of one level must have the same length", key=key
        ) from None
    return arr.shape


def _require_shape(value: Any, shape: tuple[int, ...], key: str) -> np.ndarray:
    found = _shape_of(value, key)
    if found != tuple(shape):
        raise CaseFileError(f"expected an array of shape {tuple(shape)}, found shape {found}", key=key)
    return np.asarray(value, dtype=np.float64)


def _data_spec(
    raw: dict[str, Any], case_id: str, what: str, shapes: Mapping[str, tuple[int, ...]], prefix: str
) -> DataSpec:
    kind = raw.get("kind", "random")
    arrays: dict[str, np.ndarray] = {}
    if kind == "explicit":
        for name, shape in shapes.items():
            if name not in raw:
                raise CaseFileError(
                    f"missing key: required when kind = 'explicit' (shape {shape})", key=f"{prefix}.{name}"
                )
            arrays[name] = _require_shape(raw[name], shape, f"{prefix}.{name}")
        for name in raw:
            if name not in shapes and name != "kind":
                raise CaseFileError("not used by this layer configuration", key=f"{prefix}.{name}")
    return DataSpec(
        kind=kind,
        seed=raw.get("seed", _default_seed(case_id, what)),
        scale=raw.get("scale"),
        value=raw.get("value"),
        arrays=arrays,
    )


def _initial_state(
    raw: dict[str, Any], case_id: str, n_states: int | None, shape: tuple[int, int]
) -> InitialStateSpec:
    kind = raw.get("kind", "none")
    states: tuple[np.ndarray, ...] = ()
    if kind == "explicit":
        states = _states(raw["states"], n_states, shape, "initial_state.states")
    for name, value in raw.get("args", {}).items():
        if (
            isinstance(value, str)
            and value.startswith("{")
            and value not in ("{batch}", "{dtype}", "{inputs}")
        ):
            raise CaseFileError(
                f"unknown placeholder {value!r}; known: '{{batch}}', '{{dtype}}', '{{inputs}}'",
                key=f"initial_state.args.{name}",
            )
    return InitialStateSpec(
        kind=kind,
        seed=raw.get("seed", _default_seed(case_id, "initial_state")),
        scale=raw.get("scale", 0.5),
        states=states,
        on=raw.get("on", "cell"),
        args=dict(raw.get("args", {})),
    )


def _states(raw: list[Any], n_states: int | None, shape: tuple[int, int], key: str) -> tuple[np.ndarray, ...]:
    """State arrays written out; their count and shapes are checked where the family is known."""
    if n_states is None:  # a custom cell: checked against the built cell when the item runs
        return tuple(_require_shape(s, _shape_of(s, f"{key}[{i}]"), f"{key}[{i}]") for i, s in enumerate(raw))
    if len(raw) != n_states:
        raise CaseFileError(f"expected {n_states} state array(s), found {len(raw)}", key=key)
    return tuple(_require_shape(s, shape, f"{key}[{i}]") for i, s in enumerate(raw))


def _expect(raw: dict[str, Any], options: Options, n_states: int | None, sizes: dict[str, int]) -> Expect:
    wanted = {"dropout": options.dropping, "stateful": options.stateful}
    checks = tuple(
        raw.get("checks", [c for c in schema.CHECKS if c not in schema.OPTIONAL_CHECKS or wanted.get(c)])
    )
    for name, on in wanted.items():
        if name in checks and not on:
            raise CaseFileError(
                f"check {name!r} needs options with {schema.OPTIONAL_CHECKS[name]}", key="expect.checks"
            )
    if "output" in raw or "states" in raw:
        checks = checks if "values" in checks else (*checks, "values")
    elif "values" in checks:
        raise CaseFileError("check 'values' needs expect.output or expect.states", key="expect.checks")
    output = None
    if "output" in raw:
        b, t, u = sizes["batch"], sizes["timesteps"], sizes["output_units"]
        out_shape = (b, t, u) if options.return_sequences else (b, u)
        output = _require_shape(raw["output"], out_shape, "expect.output")
    states = None
    if "states" in raw:
        states = _states(raw["states"], n_states, (sizes["batch"], sizes["units"]), "expect.states")
    return Expect(
        checks=checks,
        tolerance=dict(raw.get("tolerance", {})),
        output=output,
        states=states,
        pinned_tolerance=Tolerance(atol=raw.get("atol", 1e-6), rtol=raw.get("rtol", 1e-6)),
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


def _divergence(raw: dict[str, Any], index: int) -> Divergence:
    key = f"divergence[{index}]"
    if ("raises" in raw) == ("fails" in raw):
        raise CaseFileError(
            "say exactly one of 'raises' (an exception) or 'fails' (a list of checks)", key=key
        )
    if "match" in raw:
        _regex(raw["match"], f"{key}.match")
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


def _contract(raw: dict[str, Any], line: int) -> Contract:
    expect = raw["expect"]
    if ("returns" in expect) == ("raises" in expect):
        raise CaseFileError(
            "say exactly one of 'returns' (what comes back) or 'raises' (an exception)", key="expect"
        )
    if "match" in expect:
        _regex(expect["match"], "expect.match")
    uses_inputs = (
        raw["call"] == "__call__" or raw.get("prepare") == "call" or "{inputs}" in str(raw.get("call_args"))
    )
    if uses_inputs and "inputs" not in raw:
        raise CaseFileError("missing key: the call uses the inputs x, so give their shape", key="inputs")
    if math.prod(raw.get("inputs", ())) > schema.MAX_ELEMENTS:
        raise CaseFileError(f"more than {schema.MAX_ELEMENTS:,} elements in one tensor", key="inputs")
    for name, value in raw.get("call_args", {}).items():
        for i, arg in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(arg, dict) and ("numpy" in arg) == ("tensor" in arg):
                raise CaseFileError(
                    "an array argument says exactly one of numpy = [shape] or tensor = [shape]",
                    key=f"call_args.{name}" + (f"[{i}]" if isinstance(value, list) else ""),
                )
            shape: list[int] = (arg.get("numpy") or arg.get("tensor") or []) if isinstance(arg, dict) else []
            if math.prod(shape) > schema.MAX_ELEMENTS:
                raise CaseFileError(
                    f"more than {schema.MAX_ELEMENTS:,} elements in one array",
                    key=f"call_args.{name}" + (f"[{i}]" if isinstance(value, list) else ""),
                )
    returns = None
    if "returns" in expect:
        shapes = tuple(tuple(s) for s in expect["shapes"]) if "shapes" in expect else None
        returns = Returns(expect["returns"], expect.get("length"), shapes)
    divergences = tuple(
        replace(_divergence(d, i), paths=("contract",)) for i, d in enumerate(raw.get("divergence", []))
    )
    cell = (raw["cell"]["layer"], dict(raw["cell"].get("args", {}))) if "cell" in raw else None
    return Contract(
        id=raw["id"],
        source=Path(),
        line=line,
        layer=raw["layer"],
        args=dict(raw.get("args", {})),
        call=raw["call"],
        call_args=dict(raw.get("call_args", {})),
        cell=cell,
        inputs=tuple(raw["inputs"]) if "inputs" in raw else None,
        prepare=raw.get("prepare", "none"),
        returns=returns,
        raises=expect.get("raises"),
        match=expect.get("match"),
        divergences=divergences,
        description=raw.get("description", ""),
    )


def _regex(pattern: str, key: str) -> None:
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise CaseFileError(f"not a regular expression: {why}", key=key) from None
