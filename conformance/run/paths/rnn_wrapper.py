"""``rnn_wrapper``: ``keras.layers.RNN(Cell(...))`` (``RNN([cell, cell])`` for a stack)."""

from __future__ import annotations

from typing import Any

from conformance.run.paths.layer import LayerRunner


class RNNWrapper(LayerRunner):
    name = "rnn_wrapper"

    def new_layer(self, **layer_kwargs: Any) -> Any:
        kwargs = {**layer_kwargs, "dtype": self.dtype}
        layer = self.structure.wrapper_layer(self.new_cell, self.keras, kwargs, self.record)
        return self.structure.wrap(layer, self.keras, self.record)
