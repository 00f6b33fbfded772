"""``sequential``: the path's layer in ``keras.Sequential([keras.Input(...), (Masking), layer])`` — one
input, one output, so no initial state, no mask argument and no returned states (refused at
collection)."""

from __future__ import annotations

from typing import Any

from conformance.run.contexts.model import ModelContext


class Sequential(ModelContext):
    name = "sequential"

    def assemble(self, inputs: list[Any], body: Any) -> Any:
        keras, r = self.r.keras, self.r
        layers: list[Any] = [inputs[0]]
        if r.case.mask is not None and r.case.mask.via == "masking_layer":
            layers.append(keras.layers.Masking(0.0))
        layers.append(self.layer)
        if r.case.head == "time_distributed_dense":
            layers.append(self.head_layer())
        return keras.Sequential(layers)

    def spelled_model(self, shown: list[str], body: list[str]) -> str:
        return f"model = keras.Sequential([{', '.join([shown[0], *body])}])"
