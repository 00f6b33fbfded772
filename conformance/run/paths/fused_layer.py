"""``fused_layer``: ``keras.layers.LSTM(...)``, ``GRU``, ``SimpleRNN`` (cuDNN on GPU when eligible), or a
custom cell's own layer."""

from __future__ import annotations

from typing import Any

from conformance.families.structures.base import fmt_kwargs
from conformance.run import modes
from conformance.run.paths.base import GENERIC
from conformance.run.paths.layer import LayerRunner


class FusedLayer(LayerRunner):
    name = "fused_layer"

    def new_layer(self, **layer_kwargs: Any) -> Any:
        if self.case.custom is not None:
            own = dict(self.case.custom.args)
        else:
            own = self.case.options.cell_kwargs(self.family.cell_options)
        kwargs = {**own, **layer_kwargs, "dtype": self.dtype}
        cls, shown = self.keras_class(str(self.family.layer_class))
        self.record(f"layer = {shown}({self.case.units}, {fmt_kwargs(kwargs)})")
        return self.structure.wrap(cls(self.case.units, **kwargs), self.keras, self.record)

    def kernel(self, device: str) -> str:
        """Which kernel ran, inferred from the layer's own eligibility flags and the device.

        Keras 3 tries cuDNN only on GPU (``use_cudnn``, LSTM and GRU) and otherwise runs the generic loop;
        Keras 2 and tf-keras run their own fused CPU kernel (standard_lstm, standard_gru) when the layer is
        cuDNN-eligible (``_could_use_gpu_kernel``), the generic loop if not. SimpleRNN has neither.
        """
        traced = modes.suffix(self.mode)
        if self.case.custom is not None:
            return f"custom layer {self.family.layer_class}"
        fused = self.family.keras2_kernel
        if self.env.flavour == "keras3":
            eligible = (
                fused is not None
                and getattr(getattr(self.layer, "forward_layer", self.layer), "use_cudnn", "auto")
                in ("auto", True)
                and self._cudnn_options()
            )
            return "cudnn" if device == "gpu" and eligible else GENERIC + traced
        flags = getattr(self.layer, "forward_layer", self.layer)  # Bidirectional: its forward layer's
        if fused is None or not getattr(flags, "_could_use_gpu_kernel", False):
            return GENERIC + traced
        return "cudnn" if device == "gpu" else f"{fused} (Keras 2 fused CPU kernel)" + traced

    def _cudnn_options(self) -> bool:
        """Keras 3's own rule (``lstm.py``/``gru.py`` ``cudnn_ok``): defaults that cuDNN implements."""
        o = self.case.options
        return (
            o.activation == "tanh"
            and o.recurrent_activation == "sigmoid"
            and o.use_bias
            and not o.unroll
            and not o.recurrent_dropout
            and (self.family.name != "gru" or o.reset_after)
        )
