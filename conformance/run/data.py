"""The numbers a case feeds every path and the oracle: inputs, weights, initial state, loss cotangents.

Values are made in float64 from the case (seeded NumPy, a constant, or written out) and then rounded to
the dtype TensorFlow will hold them in, so the oracle computes on exactly the numbers TF sees and the only
difference left is the arithmetic.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from conformance.casefile.case import Case, DataSpec
from conformance.families.base import Family

# dtype of a case → (dtype inputs and states are fed in, dtype variables are held in, dtype layers compute in)
DTYPE_ROLES: Mapping[str, tuple[str, str, str]] = {
    "float32": ("float32", "float32", "float32"),
    "float64": ("float64", "float64", "float64"),
    "float16": ("float16", "float16", "float16"),
    "bfloat16": ("bfloat16", "bfloat16", "bfloat16"),
    "mixed_float16": ("float32", "float32", "float16"),
}


def round_to(values: np.ndarray, dtype: str) -> np.ndarray:
    """Round float64 values to ``dtype`` and back, so the oracle starts from what TF holds."""
    values = np.asarray(values, dtype=np.float64)
    if dtype == "float64":
        return values
    if dtype == "bfloat16":  # NumPy has none: round-to-nearest-even on the top 16 bits of float32
        bits = values.astype(np.float32).view(np.uint32)
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & np.uint32(0xFFFF0000)
        return bits.view(np.float32).astype(np.float64)
    return values.astype(dtype).astype(np.float64)


def _make(spec: DataSpec, name: str, shape: tuple[int, ...], default_scale: float, salt: str) -> np.ndarray:
    if spec.kind == "constant":
        return np.full(shape, float(spec.value or 0.0))
    if spec.kind == "explicit":
        return np.asarray(spec.arrays[name], dtype=np.float64)
    # One generator per array, seeded from (seed, array name): adding a weight never reshuffles the others.
    rng = np.random.default_rng([spec.seed, zlib.crc32(salt.encode())])
    scale = default_scale if spec.scale is None else spec.scale
    return rng.uniform(-scale, scale, size=shape)


@dataclass(frozen=True)
class CaseData:
    """Everything numeric about one item, in float64, already rounded to the item's dtypes."""

    inputs: np.ndarray
    weights: dict[str, np.ndarray]
    initial_state: (
        tuple[np.ndarray, ...] | None
    )  # None: the path is called without one (zeros for the oracle)
    custom_state: tuple[np.ndarray, ...]  # a seeded non-zero state for the initial-state checks
    cot_output: np.ndarray
    cot_states: tuple[np.ndarray, ...]
    mask: np.ndarray | None = None  # (batch, time) bool, True = the step is used

    def zero_state(self) -> tuple[np.ndarray, ...]:
        return tuple(np.zeros_like(s) for s in self.custom_state)


def make(case: Case, dtype: str, fam: Family) -> CaseData:
    """Build the item's numbers; deterministic in (case, dtype, the family's state and weight shapes)."""
    feed, variable, _compute = DTYPE_ROLES[dtype]
    b, t, f, u = case.batch, case.timesteps, case.features, case.units
    inputs = round_to(_make(case.inputs, "array", (b, t, f), 1.0, "inputs"), feed)
    mask = case.mask.array(t) if case.mask is not None else None
    if mask is not None and case.mask is not None and case.mask.via == "masking_layer":
        inputs = np.where(mask[:, :, None], inputs, 0.0)  # what Masking(mask_value=0.0) reads as padding
    shapes = fam.weight_shapes(f, u, case.options)
    weights = {
        n: round_to(_make(case.weights, n, s, 1.0 / np.sqrt(u), n), variable) for n, s in shapes.items()
    }
    state_shapes = fam.state_shapes(b, u)
    init = case.initial_state
    rng = np.random.default_rng([init.seed, 1])
    custom = tuple(round_to(rng.uniform(-init.scale, init.scale, shape), feed) for shape in state_shapes)
    state: tuple[np.ndarray, ...] | None
    if init.kind == "zeros":
        state = tuple(np.zeros(shape) for shape in state_shapes)
    elif init.kind == "random":
        state = custom
    elif init.kind == "explicit":
        state = tuple(round_to(s, feed) for s in init.states)
    else:  # none, get_initial_state: the path supplies it (or not); the oracle starts from zeros
        state = None
    crng = np.random.default_rng([zlib.crc32(case.id.encode()), 2])
    out_u = fam.output_units or u
    out_shape = (b, t, out_u) if case.options.return_sequences else (b, out_u)
    cot_output = crng.uniform(-1, 1, out_shape)
    cot_states = tuple(crng.uniform(-1, 1, shape) for shape in state_shapes)
    return CaseData(inputs, weights, state, custom, cot_output, cot_states, mask)
