"""Layer families: the Keras names of each family's cell and fused layer, its states, and its oracle.

GRU and SimpleRNN slot in here: a family is data, the paths and checks are written once for all.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from conformance.errors import CaseFileError


@dataclass(frozen=True)
class Family:
    name: str
    cell_class: str  # keras.layers.<cell_class>
    layer_class: str  # keras.layers.<layer_class>, the fused layer
    state_names: tuple[str, ...]
    gates: int
    oracle_module: str

    @property
    def n_states(self) -> int:
        return len(self.state_names)

    def input_shape(self, batch: int, timesteps: int, features: int, units: int) -> tuple[int, int, int]:
        return (batch, timesteps, features)

    def weight_shapes(
        self, features: int, units: int, *, use_bias: bool = True
    ) -> dict[str, tuple[int, ...]]:
        """Keras's weight order and shapes (the order ``set_weights`` takes)."""
        shapes: dict[str, tuple[int, ...]] = {
            "kernel": (features, self.gates * units),
            "recurrent_kernel": (units, self.gates * units),
        }
        if use_bias:
            shapes["bias"] = (self.gates * units,)
        return shapes

    def oracle(self) -> ModuleType:
        import importlib

        return importlib.import_module(self.oracle_module)


FAMILIES = {
    "lstm": Family("lstm", "LSTMCell", "LSTM", ("h", "c"), 4, "conformance.oracle.lstm"),
}


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise CaseFileError(f"unknown layer {name!r}; known: {', '.join(FAMILIES)}", key="layer") from None
