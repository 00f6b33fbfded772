"""One case table (defaults merged, one matrix combination) → a validated :class:`Case`.

Each step validates one part and names its key; the order is the order a reader of the table meets them:
sizes, the layer (family or custom cell), options, structure, data, initial state, expectations,
divergences.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from conformance import registry
from conformance.casefile.case import (
    LAYER_OPTIONS,
    Case,
    CustomSpec,
    DataSpec,
    Expect,
    InitialStateSpec,
    MaskSpec,
    Options,
    Tolerance,
)
from conformance.casefile.divergences import check_subjects, divergence
from conformance.casefile.schema import DEVICES, MAX_ELEMENTS, OPTION_KEYS, PATHS
from conformance.errors import CaseFileError
from conformance.families import Family, family, structures

SIZES = ("batch", "timesteps", "features", "units")


def build(raw: dict[str, Any], line: int, variant: str) -> Case:
    case_id = raw["id"]
    _require_sizes(raw)
    layer = raw.get("layer", "lstm")
    custom = _custom(raw, layer)
    fam = None if custom else family(layer)
    sizes = _sizes(raw, variant)
    paths = raw.get("paths", PATHS)
    options = _options(raw.get("options", {}), fam, paths, custom)
    structure = structures.from_case(raw)
    structure.refuse_custom(custom)
    structure.validate(raw, options, paths)
    b, t, f, u = (sizes[k] for k in SIZES)
    if fam is not None:
        fam = structure.compose(fam, f, u, options)
    inputs = _data_spec(raw.get("inputs", {}), case_id, "inputs", {"array": (b, t, f)}, "inputs")
    mask = _mask(raw["mask"], b, t) if "mask" in raw else None
    if mask is not None and mask.via == "masking_layer" and inputs.kind == "constant" and not inputs.value:
        raise CaseFileError(
            "inputs of constant 0 are all masked by keras.layers.Masking(0.0): use other inputs", key="inputs"
        )
    # A custom cell's states and weights are known only once it is built: their shapes are checked then.
    weight_shapes = fam.weight_shapes(f, u, options) if fam else {}
    weights = _data_spec(raw.get("weights", {}), case_id, "weights", weight_shapes, "weights")
    n_states = fam.n_states if fam else None
    init = _initial_state(raw.get("initial_state", {}), case_id, n_states, (b, u))
    if init.on == "layer" and "manual_loop" in paths:
        raise CaseFileError(
            "the manual loop has no layer: on = 'layer' needs paths without manual_loop (or on = 'cell')",
            key="initial_state.on",
        )
    contexts = _contexts(raw, options, init, mask, structure)
    out_units = (fam.output_units if fam else None) or u
    expect = _expect(raw.get("expect", {}), options, n_states, {**sizes, "output_units": out_units}, contexts)
    if expect.dropout_inert and init.kind not in ("random", "explicit"):
        raise CaseFileError(
            "dropout_inert needs a state to carry: from zeros the carried state stays 0 whatever dropout "
            "does to it; give initial_state kind 'random' (or 'explicit', non-zero)",
            key="expect.dropout_inert",
        )
    if expect.dropout_mask:
        _constant_in_time(inputs, mask, t)
    divergences = tuple(divergence(d, i) for i, d in enumerate(raw.get("divergence", [])))
    if fam is not None:  # a custom cell's states and weights are known only when it is built
        check_subjects(divergences, fam.state_names, list(weight_shapes))
    return Case(
        id=case_id,
        source=Path(),
        line=line,
        layer=layer,
        **sizes,
        options=options,
        paths=tuple(paths),
        dtypes=tuple(raw.get("dtypes", ("float32",))),
        devices=tuple(raw.get("devices", DEVICES)),
        inputs=inputs,
        weights=weights,
        initial_state=init,
        expect=expect,
        divergences=divergences,
        variant=variant,
        description=raw.get("description", ""),
        custom=custom,
        modes=tuple(raw.get("modes", ("eager",))),
        contexts=contexts,
        head=raw.get("head"),
        mask=mask,
        structure=structure,
    )


def _contexts(
    raw: Mapping[str, Any],
    options: Options,
    init: InitialStateSpec,
    mask: MaskSpec | None,
    structure: structures.Structure,
) -> tuple[str, ...]:
    """The contexts, each refused where the case asks what its model cannot take (registry.CONTEXTS)."""
    contexts = tuple(raw.get("contexts", ("call",)))
    entries = registry.by_name(registry.CONTEXTS)
    for name in contexts:
        entry = entries[name]
        if entry.single_input and init.kind != "none":
            raise CaseFileError(
                f"a {name} model takes one input: initial_state must be 'none' (use 'functional' to pass "
                "states)",
                key="contexts",
            )
        if entry.single_input and mask is not None and mask.via == "argument":
            raise CaseFileError(
                f"a {name} model takes one input: a mask reaches it through keras.layers.Masking (mask.via = "
                "'masking_layer'), not as an argument",
                key="contexts",
            )
        if entry.single_output and (options.return_state or structure.pair_outputs):
            raise CaseFileError(
                f"a {name} model returns one output: return_state and merge_mode 'none' need 'functional'",
                key="contexts",
            )
    if "head" in raw:
        if not any(entries[c].model for c in contexts):
            raise CaseFileError(
                "a head follows the layer in a model: add 'functional' or 'sequential' to contexts",
                key="head",
            )
        if not options.return_sequences:
            raise CaseFileError(
                "TimeDistributed needs a sequence: options.return_sequences = true", key="head"
            )
    return contexts


def _require_sizes(raw: Mapping[str, Any]) -> None:
    """The four sizes are present: in the case, [defaults] or the matrix."""
    for size in SIZES:
        if size not in raw:
            raise CaseFileError(
                "missing required key (an integer >= 1; in the case, [defaults] or the matrix)", key=size
            )


def _sizes(raw: Mapping[str, Any], variant: str) -> dict[str, int]:
    """The four sizes, not absurd together."""
    sizes = {k: raw[k] for k in SIZES}
    elements = max(
        sizes["batch"] * sizes["timesteps"] * max(sizes["features"], sizes["units"]),
        4 * sizes["units"] * max(sizes["features"], sizes["units"]),  # an LSTM's kernels (4 gates)
    )
    if elements > MAX_ELEMENTS:
        raise CaseFileError(
            f"sizes {sizes} make {elements:,} elements in one tensor; the kit refuses more than "
            f"{MAX_ELEMENTS:,} (they would exhaust memory rather than test anything)",
            key="matrix" if variant else max(sizes, key=lambda k: sizes[k]),
        )
    return sizes


def _default_seed(case_id: str, what: str) -> int:
    """Stable per-case seeds, so two cases of the same sizes do not test the same numbers."""
    return zlib.crc32(f"{case_id}:{what}".encode())


def _options(raw: dict[str, Any], fam: Family | None, paths: list[str], custom: CustomSpec | None) -> Options:
    """The family's options only: an option a family does not have is refused, never silently dropped."""
    if fam is not None:
        takes = [n for n in OPTION_KEYS if n in LAYER_OPTIONS or n in fam.cell_options]
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


def _constant_in_time(inputs: DataSpec, mask: MaskSpec | None, timesteps: int) -> None:
    """expect.dropout_mask reads the mask off an output that changes in time only through dropout: the
    inputs must be the same at every step and no step masked."""
    key = "expect.dropout_mask"
    if timesteps < 2:
        raise CaseFileError("dropout_mask compares time steps: it needs timesteps >= 2", key=key)
    if mask is not None:
        raise CaseFileError(
            "dropout_mask needs every step's output: a masked step outputs zeros or the step before", key=key
        )
    if inputs.kind == "explicit":
        array = np.asarray(inputs.arrays["array"])
        if not np.array_equal(array, np.broadcast_to(array[:, :1], array.shape)):
            raise CaseFileError(
                "dropout_mask needs inputs that are the same at every step: inputs.array differs between "
                "steps (or use inputs kind 'constant')",
                key=key,
            )
    elif inputs.kind != "constant":
        raise CaseFileError(
            f"dropout_mask needs inputs that are the same at every step: inputs kind {inputs.kind!r} draws "
            "each step anew; use kind 'constant' (or 'explicit', the same values at every step)",
            key=key,
        )


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
    if "fused_layer" in raw.get("paths", PATHS) and "layer" not in spec:
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


def _expect(
    raw: dict[str, Any],
    options: Options,
    n_states: int | None,
    sizes: dict[str, int],
    contexts: tuple[str, ...] = ("call",),
) -> Expect:
    gated = {e.name: e for e in registry.CHECKS if e.gate}

    def on(name: str) -> bool:
        """A gated check runs by default (and may be listed) only where the case calls for it."""
        gate = str(gated[name].gate)
        if gate.startswith("options."):
            return bool(getattr(options, gate.removeprefix("options.")))
        if gate == "contexts.model":  # some context of the case puts the layer in a model
            return any(registry.by_name(registry.CONTEXTS)[c].model for c in contexts)
        return any(raw.get(g.removeprefix("expect.")) not in (None, False) for g in gate.split("|"))

    checks = tuple(raw.get("checks", [c for c in registry.CHECK_NAMES if c not in gated or on(c)]))
    for name in checks:
        if name in gated and name not in ("values", "kernel") and not on(name):
            raise CaseFileError(
                f"check {name!r} needs options with {gated[name].requires}", key="expect.checks"
            )
    for name in ("values", "kernel"):  # what the case pins or states is checked even if checks omits it
        if on(name) and name not in checks:
            checks = (*checks, name)
        elif name in checks and not on(name):
            raise CaseFileError(f"check {name!r} needs {gated[name].requires}", key="expect.checks")
    output = None
    if "output" in raw:
        b, t, u = sizes["batch"], sizes["timesteps"], sizes["output_units"]
        out_shape = (b, t, u) if options.return_sequences else (b, u)
        output = _require_shape(raw["output"], out_shape, "expect.output")
    states = None
    if "states" in raw:
        states = _states(raw["states"], n_states, (sizes["batch"], sizes["units"]), "expect.states")
    saving: tuple[str, ...] = ()
    if raw.get("saving") not in (None, False):
        if not any(registry.by_name(registry.CONTEXTS)[c].model for c in contexts):
            raise CaseFileError(
                "saving needs a model to save: add 'functional' or 'sequential' to contexts",
                key="expect.saving",
            )
        saving = registry.SAVE_FORMAT_NAMES if raw["saving"] is True else tuple(raw["saving"])
    if raw.get("tflite") is not None and "tflite" not in saving:
        raise CaseFileError(
            "tflite states what the TFLite conversion makes: add 'tflite' to saving", key="expect.tflite"
        )
    if raw.get("dropout_inert") and "dropout" not in checks:
        why = "dropout or recurrent_dropout > 0" if not on("dropout") else "'dropout' in expect.checks"
        raise CaseFileError(
            f"dropout_inert is what the dropout check asserts: it needs {why}", key="expect.dropout_inert"
        )
    if raw.get("dropout_mask"):
        key = "expect.dropout_mask"
        if raw.get("dropout_inert"):
            raise CaseFileError(
                "dropout_mask reads the mask through its effect; dropout_inert says there is none: give one",
                key=key,
            )
        if not options.dropout:
            raise CaseFileError("dropout_mask is the input dropout's mask: it needs dropout > 0", key=key)
        if "dropout" not in checks:
            raise CaseFileError(
                "dropout_mask is what the dropout check asserts: it needs 'dropout' in expect.checks", key=key
            )
        if not options.return_sequences:
            raise CaseFileError(
                "dropout_mask compares the output at every step: it needs return_sequences = true", key=key
            )
    return Expect(
        dropout_mask=raw.get("dropout_mask"),
        dropout_inert=bool(raw.get("dropout_inert", False)),
        saving=saving,
        tflite=raw.get("tflite"),
        checks=checks,
        tolerance=dict(raw.get("tolerance", {})),
        output=output,
        states=states,
        pinned_tolerance=Tolerance(atol=raw.get("atol", 1e-6), rtol=raw.get("rtol", 1e-6)),
        kernel=raw.get("kernel"),
    )
