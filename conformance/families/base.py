"""What a layer family is to the kit: the Keras names of its cell and fused layer, its states, weights,
options and oracle.

The built-in families are data, known at collection. A custom cell (``layer = "custom"``) becomes a
family only when an item runs (:mod:`conformance.families.custom`): its states and weights are read off
the built cell, because importing the user's module (and TensorFlow with it) must not happen during
collection.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.casefile.case import Options

#: Options every gated cell (LSTM, GRU) accepts; a family adds its own.
GATED = (
    "activation",
    "recurrent_activation",
    "use_bias",
    "dropout",
    "recurrent_dropout",
    "recurrent_initializer",
)


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
    # The options of the case format this family's cell accepts (every family takes the layer options).
    cell_options: tuple[str, ...] = GATED
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
