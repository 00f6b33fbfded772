"""What the two layer paths (the RNN wrapper and the fused layer) share: building, calling, the probe
layer, and the stateful API."""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.run.paths.base import Runner
from conformance.run.tensors import to_numpy


class LayerRunner(Runner):
    def new_layer(self, **layer_kwargs: Any) -> Any:
        """The path's layer as the case composes it (Bidirectional around it, where the case says)."""
        raise NotImplementedError

    def build(self) -> None:
        self.layer = self.new_layer(**self.case.options.layer_kwargs())
        shape = (self.case.batch, self.case.timesteps, self.case.features)
        self.record(f"layer.build({shape})")
        self.layer.build(shape)
        self.cell = getattr(self.layer, "cell", None)
        self.owner = self.structure.weights_owner(self.layer)
        self.resolve_family(self.cell)
        self._probe_layer: Any = None

    def _invoke(
        self,
        layer: Any,
        x: Any,
        initial_state: list[Any] | None,
        mask: Any,
        label: str,
        training: bool = False,
    ) -> Any:
        kwargs: dict[str, Any] = {}
        shown = ["x"]
        if self.case.mask is not None and self.case.mask.via == "masking_layer":
            x = self.keras.layers.Masking(0.0)(x)
            shown = ["keras.layers.Masking(0.0)(x)"]
        elif mask is not None:
            kwargs["mask"] = mask
            shown.append("mask=mask")
        if initial_state is not None:
            kwargs["initial_state"] = self.nested(initial_state)
            names = self.nested(list(self.family.state_names)) or []
            shown.append(f"initial_state={names!r}".replace("'", ""))
        if training:
            kwargs["training"] = True
            shown.append("training=True")
        self.record(f"{label}({', '.join(shown)})")
        return layer(x, **kwargs)

    def call(self, x: Any, initial_state: list[Any] | None, mask: Any = None, training: bool = False) -> Any:
        return self._invoke(self.layer, x, initial_state, mask, "layer", training)

    def prepare(self, name: str) -> None:
        if name == "probe" and self._probe_layer is None:
            kwargs = {**self.case.options.layer_kwargs(), "return_sequences": True, "return_state": True}
            kwargs.pop("stateful", None)  # the probes compare runs from given states, each on its own
            self._probe_layer = self.new_layer(**kwargs)
            self._probe_layer.build((self.case.batch, self.case.timesteps, self.case.features))
            self.inject_weights(self.structure.weights_owner(self._probe_layer))

    def probe(self, x: Any, initial_state: list[Any] | None, mask: Any = None) -> tuple[Any, list[Any]]:
        self.prepare("probe")
        result = list(self._invoke(self._probe_layer, x, initial_state, mask, "probe"))
        output, states = self.structure.split(result, True, self.concat)
        return output, states

    def layer_for_initial_state(self) -> Any:
        return self.layer

    # -- a stateful layer: calls that carry the state, and the reset ---------------------------------
    def reset_states(self) -> None:
        self.record("layer.reset_states()")
        self.layer.reset_states()

    def carry(self, x: Any, mask: Any) -> Any:
        """A stateful call: no initial_state, the layer's own carried state."""
        return self._invoke(self.layer, x, None, mask, "layer")

    def held_states(self) -> list[np.ndarray]:
        self.record("[s.numpy() for s in layer.states]")
        return [to_numpy(s) for s in self.layer.states]
