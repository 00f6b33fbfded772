"""The manual loop as users put it in a model: a ``keras.layers.Layer`` whose ``call`` loops over the cell.

The class is made when an item runs, from the Keras under test (the kit imports no Keras of its own).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from conformance.families.structures import flatten

if TYPE_CHECKING:
    from conformance.run.paths.manual_loop import ManualLoop


def loop_layer(r: ManualLoop) -> Any:
    """A layer over the runner's cell(s), returning what a recurrent layer returns: the output (the
    sequence with return_sequences), then the final states with return_state."""
    keras = r.keras

    class LoopLayer(keras.layers.Layer):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__(dtype=r.dtype)
            self.cells = list(r.directions)  # tracked: the model's weights are the cells'

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            # Keras 3 warns that a layer without supports_masking "destroys" the mask it is passed; this
            # layer takes the mask as an argument and applies it in its loop: the warning is not the case's.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*of type LoopLayer.*mask", category=UserWarning)
                return super().__call__(*args, **kwargs)

        def call(self, inputs: Any, initial_state: Any = None, mask: Any = None) -> Any:
            flat = None if initial_state is None else flatten(initial_state)
            value = r.call(inputs, flat, mask)  # [output, *states]
            return value if r.case.options.return_state else value[0]

    return LoopLayer()
