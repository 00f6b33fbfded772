"""Validated cases: frozen values that the rest of the kit can trust without re-checking."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from packaging.specifiers import SpecifierSet

from conformance.families.structures import SINGLE, Structure

# Options that configure the layer (the RNN wrapper and the fused layer), not the cell.
LAYER_OPTIONS = (
    "return_sequences",
    "return_state",
    "go_backwards",
    "unroll",
    "zero_output_for_mask",
    "stateful",
)
# Options the kit's oracle takes (the rest have no numeric effect with the case's injected weights, or are
# about training=True, which the oracle does not model).
ORACLE_OPTIONS = (
    "activation",
    "recurrent_activation",
    "use_bias",
    "reset_after",
    "go_backwards",
    "zero_output_for_mask",
)


@dataclass(frozen=True)
class Options:
    """Layer options; ``given`` names those the case set (a family refuses options it does not have)."""

    return_sequences: bool = False
    return_state: bool = False
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    use_bias: bool = True
    unit_forget_bias: bool = True
    recurrent_initializer: str = "orthogonal"
    reset_after: bool = True
    go_backwards: bool = False
    unroll: bool = False
    zero_output_for_mask: bool = False
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    stateful: bool = False
    given: frozenset[str] = frozenset()

    def _pick(self, names: Sequence[str], always: Sequence[str] = ()) -> dict[str, Any]:
        """The named options: those in ``always`` as they are, the others only where the case set them."""
        return {n: getattr(self, n) for n in names if n in always or n in self.given}

    def cell_kwargs(self, cell_options: Sequence[str]) -> dict[str, Any]:
        """Constructor arguments of the family's cell (``cell_options``: what the family accepts)."""
        names = [n for n in cell_options if n not in LAYER_OPTIONS]
        return self._pick(names, always=("activation", "recurrent_activation", "use_bias"))

    def layer_kwargs(self) -> dict[str, Any]:
        return self._pick(LAYER_OPTIONS, always=("return_sequences", "return_state"))

    def oracle_kwargs(self, cell_options: Sequence[str]) -> dict[str, Any]:
        return {n: getattr(self, n) for n in ORACLE_OPTIONS if n in cell_options or n in LAYER_OPTIONS}

    @property
    def dropping(self) -> bool:
        return bool(self.dropout or self.recurrent_dropout)


@dataclass(frozen=True)
class DataSpec:
    """How an array (inputs or weights) is made: seeded random, a constant, or written out."""

    kind: str = "random"
    seed: int = 0
    scale: float | None = None
    value: float | None = None
    arrays: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InitialStateSpec:
    """Where the initial state comes from; ``args`` is the get_initial_state call exactly as spelled."""

    kind: str = "none"
    seed: int = 0
    scale: float = 0.5
    states: tuple[Any, ...] = ()
    on: str = "cell"
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MaskSpec:
    """Which steps are masked: ``lengths[row]`` kept steps per row, padded on the right or the left."""

    lengths: tuple[int, ...]
    padding: str = "right"
    via: str = "argument"  # argument: layer(x, mask=m) | masking_layer: keras.layers.Masking(0.0) before it

    def array(self, timesteps: int) -> np.ndarray:
        """(batch, timesteps) bool, True = the step is used."""
        steps = np.arange(timesteps)
        lengths = np.asarray(self.lengths)[:, None]
        keep = steps < lengths if self.padding == "right" else steps >= timesteps - lengths
        return keep

    def __str__(self) -> str:
        via = "mask=" if self.via == "argument" else "keras.layers.Masking"
        return f"lengths {list(self.lengths)}, {self.padding}-padded, via {via}"


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float

    def __str__(self) -> str:
        return f"atol={self.atol:g}, rtol={self.rtol:g}"


@dataclass(frozen=True)
class Expect:
    """Which checks run, tolerance overrides and pinned values."""

    checks: tuple[str, ...]
    tolerance: Mapping[str, float] = field(default_factory=dict)
    output: Any = None
    states: tuple[Any, ...] | None = None
    pinned_tolerance: Tolerance = Tolerance(atol=1e-6, rtol=1e-6)
    kernel: str | None = None  # "fused" | "generic": the kernel the fused layer must run
    saving: tuple[str, ...] = ()  # saved-model formats to write and load back (round_trip, carry_over)
    tflite: str | None = None  # "fused" | "loop": what the TFLite converter must make of the layer
    dropout_inert: bool = False  # training=True must equal inference: the weights leave dropout no effect
    # "per_sequence" | "per_step": how the input dropout mask varies in time, seen through weights that make
    # each step's output depend on that step's input alone and inputs that are the same at every step
    dropout_mask: str | None = None


@dataclass(frozen=True)
class Differs:
    """What a divergence says differs: one check's findings on the named subjects (``what``, fnmatch
    patterns such as ``output`` or ``state.*``), optionally only at these time steps (exactly) and with a
    message matching ``match``. Everything not named is still checked."""

    check: str
    what: tuple[str, ...]
    steps: tuple[int, ...] | None = None
    match: str | None = None

    def matches(self, finding: Any) -> bool:
        """Is this finding (check, subject, message) one this entry names?"""
        return (
            finding.check == self.check
            and any(fnmatch.fnmatchcase(finding.subject, w) for w in self.what)
            and (self.match is None or re.search(self.match, finding.message) is not None)
        )

    def describe(self) -> str:
        steps = f" at steps {list(self.steps)}" if self.steps is not None else ""
        match = f" matching {self.match!r}" if self.match else ""
        return f"{self.check} of {', '.join(self.what)}{steps}{match}"


@dataclass(frozen=True)
class Divergence:
    """A declared, version-conditioned difference, strict both ways.

    It says what happens instead of what the case (or contract) states: a raise of this exact class with a
    message matching ``match``; or (a case) findings on the subjects ``differs`` names — optionally the
    known alternative behaviour ``instead`` they follow, which the kit then checks; or (a contract) the
    other outcome ``returns`` it has.
    """

    reason: str
    paths: tuple[str, ...]
    tf: SpecifierSet | None = None
    keras: SpecifierSet | None = None
    flavours: tuple[str, ...] | None = None
    devices: tuple[str, ...] | None = None
    dtypes: tuple[str, ...] | None = None
    modes: tuple[str, ...] | None = None
    layers: tuple[str, ...] | None = None
    raises: str | None = None
    match: str | None = None
    differs: tuple[Differs, ...] = ()
    instead: str | None = None
    returns: Returns | None = None
    link: str | None = None

    def what(self) -> str:
        if self.raises:
            return f"raises {self.raises}" + (f" matching {self.match!r}" if self.match else "")
        if self.returns is not None:
            return f"returns {self.returns.describe()}"
        said = "differs in " + "; ".join(d.describe() for d in self.differs)
        return said + (f", following {self.instead!r}" if self.instead else "")

    def conditions(self) -> str:
        conds = [f"{name} {spec}" for name, spec in (("tf", self.tf), ("keras", self.keras)) if spec]
        conds += [
            f"{name} in {list(v)}"
            for name, v in (
                ("flavour", self.flavours),
                ("device", self.devices),
                ("dtype", self.dtypes),
                ("mode", self.modes),
                ("layer", self.layers),
            )
            if v
        ]
        return f" when {' and '.join(conds)}" if conds else ""

    def describe(self) -> str:
        return f"{self.what()}{self.conditions()}: {self.reason}" + (f" ({self.link})" if self.link else "")


@dataclass(frozen=True)
class CustomSpec:
    """A user's cell (and optionally fused layer and NumPy reference), by ``module:attribute`` path.

    Nothing is imported at collection: the kit imports these when an item runs.
    """

    cell: str
    layer: str | None = None
    reference: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One case variant: everything needed to build and judge its items."""

    id: str
    source: Path
    line: int  # 1-based line of the case's id in its file, 0 if unknown
    layer: str
    batch: int
    timesteps: int
    features: int
    units: int
    options: Options
    paths: tuple[str, ...]
    dtypes: tuple[str, ...]
    devices: tuple[str, ...]
    inputs: DataSpec
    weights: DataSpec
    initial_state: InitialStateSpec
    expect: Expect
    divergences: tuple[Divergence, ...] = ()
    variant: str = ""  # "batch=1-return_sequences=true" for a matrix combination, "" otherwise
    description: str = ""
    custom: CustomSpec | None = None  # layer = "custom"
    modes: tuple[str, ...] = ("eager",)
    contexts: tuple[str, ...] = ("call",)
    head: str | None = None
    mask: MaskSpec | None = None
    structure: Structure = SINGLE

    @property
    def sizes(self) -> str:
        return f"batch={self.batch}, timesteps={self.timesteps}, features={self.features}, units={self.units}"


@dataclass(frozen=True)
class Returns:
    container: str  # tensor | list | tuple | sequence (list or tuple) | none | object (a layer instance)
    length: int | None = None
    shapes: tuple[tuple[int, ...], ...] | None = None  # per element; one shape for a tensor

    def describe(self) -> str:
        text = {"none": "None", "object": "an object"}.get(self.container, f"a {self.container}")
        if self.length is not None:
            text += f" of {self.length}"
        if self.shapes is not None:
            text += f" with shapes {[list(s) for s in self.shapes]}"
        return text


@dataclass(frozen=True)
class Contract:
    id: str
    source: Path
    line: int
    layer: str
    args: Mapping[str, Any]
    call: str  # "new" | "__call__" | a method name
    call_args: Mapping[str, Any] = field(default_factory=dict)
    cell: tuple[str, Mapping[str, Any]] | None = None
    inputs: tuple[int, ...] | None = None
    prepare: str = "none"  # none | call
    model: str | None = None  # "sequential": the call is made on keras.Sequential([Input, layer])
    returns: Returns | None = None
    raises: str | None = None
    match: str | None = None
    divergences: tuple[Divergence, ...] = ()
    description: str = ""

    @property
    def spelled(self) -> str:
        """The call as a user would write it."""
        ctor_args = ", ".join(
            [*(["cell"] if self.cell else []), *(f"{k}={v!r}" for k, v in self.args.items())]
        )
        ctor = f"keras.layers.{self.layer}({ctor_args})"
        if self.model == "sequential":
            ctor = f"keras.Sequential([keras.Input(batch_shape={tuple(self.inputs or ())}), {ctor}])"
        if self.call == "new":
            return ctor
        shown = ", ".join(
            [
                *(["x"] if self.call == "__call__" else []),
                *(f"{k}={_show(v)}" for k, v in self.call_args.items()),
            ]
        )
        name = "" if self.call == "__call__" else f".{self.call}"
        return f"{ctor}{name}({shown})"


def _show(value: Any) -> str:
    if isinstance(value, dict):
        kind = "numpy" if "numpy" in value else "tensor"
        return f"<{kind} {tuple(value[kind])}>"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return "x" if value == "{inputs}" else repr(value)
