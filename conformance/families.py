"""Layer families: the Keras names of a family's cell and fused layer, its states, weights and oracle.

The built-in families are data, known at collection. A custom cell (``layer = "custom"``) becomes a
family only when an item runs: its states and weights are read off the built cell, because importing the
user's module (and TensorFlow with it) must not happen during collection.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

from conformance.case import Options
from conformance.errors import CaseFileError


@dataclass(frozen=True)
class Family:
    name: str
    cell_class: str  # keras.layers.<cell_class>, or "module:Class" for a custom cell
    layer_class: str | None  # keras.layers.<layer_class> (the fused layer), "module:Class", or None
    state_names: tuple[str, ...]
    oracle_module: str | None = None
    state_sizes: tuple[int, ...] | None = None  # None: every state has `units` columns
    weights: tuple[tuple[str, tuple[int, ...]], ...] | None = None  # custom: read off the built cell
    output_units: int | None = None  # custom: the cell's output_size; None: the output has `units` columns
    # The options of schema.OPTIONS this family's cell accepts (every family takes the layer options).
    cell_options: tuple[str, ...] = (
        "activation",
        "recurrent_activation",
        "use_bias",
        "dropout",
        "recurrent_dropout",
    )
    # Keras 2's fused CPU kernel, run when the layer is cuDNN-eligible (None: the family has none).
    keras2_kernel: str | None = None

    @property
    def n_states(self) -> int:
        return len(self.state_names)

    def state_shapes(self, batch: int, units: int) -> list[tuple[int, int]]:
        return [(batch, size) for size in (self.state_sizes or (units,) * self.n_states)]

    def weight_shapes(self, features: int, units: int, options: Options) -> dict[str, tuple[int, ...]]:
        """Weight names and shapes in the order the cell holds them (``reset_after`` changes GRU's bias)."""
        if self.weights is not None:
            return dict(self.weights)
        return self.oracle().weight_shapes(features, units, **options.oracle_kwargs(self.cell_options))

    def oracle(self) -> Any:
        if self.oracle_module is None:
            raise LookupError(f"family {self.name!r} has no oracle")
        return importlib.import_module(self.oracle_module)


_GATED = ("activation", "recurrent_activation", "use_bias", "dropout", "recurrent_dropout")
FAMILIES = {
    "lstm": Family(
        "lstm",
        "LSTMCell",
        "LSTM",
        ("h", "c"),
        "conformance.oracle.lstm",
        cell_options=(*_GATED, "unit_forget_bias"),
        keras2_kernel="standard_lstm",
    ),
    "gru": Family(
        "gru",
        "GRUCell",
        "GRU",
        ("h",),
        "conformance.oracle.gru",
        cell_options=(*_GATED, "reset_after"),
        keras2_kernel="standard_gru",
    ),
    "simple_rnn": Family(
        "simple_rnn",
        "SimpleRNNCell",
        "SimpleRNN",
        ("h",),
        "conformance.oracle.simple_rnn",
        cell_options=("activation", "use_bias", "dropout", "recurrent_dropout"),
    ),
}


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise CaseFileError(f"unknown layer {name!r}; known: {', '.join(FAMILIES)}", key="layer") from None


def load_object(spec: str) -> Any:
    """``module:attribute`` → the object. The one place a case file can cause code to be imported."""
    module_name, _, attribute = spec.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def custom(cell_spec: str, layer_spec: str | None, cell: Any) -> Family:
    """The family of a user's built cell: its state sizes (``state_size``) and its trainable weights."""
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    sizes = tuple(int(getattr(s, "as_list", lambda s=s: [s])()[-1]) for s in sizes)
    names: list[str] = []
    for variable in cell.trainable_weights:
        short = re.sub(r":\d+$", "", variable.name).rsplit("/", 1)[-1]
        names.append(short if short not in names else f"{short}_{len(names)}")
    weights = tuple((n, tuple(int(d) for d in v.shape)) for n, v in zip(names, cell.trainable_weights))
    state_names = tuple(f"s{i}" for i in range(len(sizes)))  # a custom cell names no states
    output = getattr(cell, "output_size", None)
    output_units = int(output) if output is not None else sizes[0]  # RNN's own fallback: the first state
    return Family("custom", cell_spec, layer_spec, state_names, None, sizes, weights, output_units)
