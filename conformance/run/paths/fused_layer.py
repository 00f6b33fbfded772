"""``fused_layer``: ``keras.layers.LSTM(...)``, ``GRU``, ``SimpleRNN`` (cuDNN on GPU when eligible), or a
custom cell's own layer."""

from __future__ import annotations

from typing import Any

from conformance.families.structures.base import fmt_kwargs
from conformance.run.paths.layer import LayerRunner


class FusedLayer(LayerRunner):
    name = "fused_layer"

    def new_layer(self, **layer_kwargs: Any) -> Any:
        own = dict(self.case.custom.args) if self.case.custom is not None else self.own_kwargs()
        kwargs = {**own, **layer_kwargs, "dtype": self.dtype}
        cls, shown = self.keras_class(str(self.family.layer_class))
        self.record(f"layer = {shown}({self.case.units}, {fmt_kwargs(kwargs)})")
        return self.structure.wrap(cls(self.case.units, **kwargs), self.keras, self.record)
