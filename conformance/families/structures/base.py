"""How cells are composed into one layer, and everything that depends on it, owned by the structure.

A structure (a single cell, a stack of cells, a Bidirectional pair) is described to the rest of the kit as
a :class:`~conformance.families.base.Family` whose states and weights are the slots' own, prefixed
(``cells[1].h``, ``backward.kernel``), flattened in the order Keras keeps them. It also knows how Keras
builds it (``StackedRNNCells``, ``RNN([cell, cell])``, ``Bidirectional(layer)``), how its manual loop runs,
how its outputs merge, what the case file may not combine with it, and how the family's NumPy oracle is
composed for it. Nothing outside this package compares structure kinds.

The Keras-side methods take the ``keras`` / ``tf`` modules as arguments: this package never imports
TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from conformance.errors import CaseFileError
from conformance.oracle.types import Gradients, Trace

if TYPE_CHECKING:
    from conformance.casefile.case import Case, CustomSpec, Options
    from conformance.families.base import Family

Log = Callable[[str], None]
Forward = Callable[[tuple[np.ndarray, ...]], Trace]


def flatten(value: Any) -> list[Any]:
    """Nested lists/tuples of tensors → a flat list (Keras nests a stack's states per cell)."""
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in flatten(item)]
    return [value]


def cot_sequence(case: Case, data: Any, units: int) -> np.ndarray:
    """The loss's cotangent on the output as a whole sequence (zeros but the last step when the layer
    returns only the last output)."""
    cot = np.zeros((case.batch, case.timesteps, units))
    if case.options.return_sequences:
        cot[:] = data.cot_output
    else:
        cot[:, -1] = data.cot_output
    return cot


def loss_terms(case: Case, data: Any) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """(initial state, cotangents of the final states) of the item's loss: states count where returned."""
    start = data.initial_state if data.initial_state is not None else data.zero_state()
    return start, data.cot_states if case.options.return_state else data.zero_state()


@dataclass(frozen=True)
class Structure:
    """The single cell; :class:`Stacked` and :class:`Bidirectional` override what differs."""

    key: ClassVar[str] = ""  # the case-file key that selects the structure ("" for a single cell)
    kind: ClassVar[str] = "single"
    # Options the kit does not check together with this structure (refused at collection, by name).
    refused_options: ClassVar[tuple[str, ...]] = ()
    pair_outputs: ClassVar[bool] = False  # the layer returns two outputs (Bidirectional, merge_mode=None)
    chunkable: ClassVar[bool] = True  # the two-chunk initial-state probe means something
    named_per_slot: ClassVar[bool] = False  # weights are shown as `forward.kernel`, not `cell.kernel`

    # -- the case file ------------------------------------------------------------------------------
    @classmethod
    def from_case(cls, raw: Mapping[str, Any]) -> Structure:
        return cls()

    def validate(self, raw: Mapping[str, Any], options: Options, paths: Sequence[str]) -> None:
        """Refuse, by key, what the kit does not check together with this structure."""
        if self.key and raw.get("weights", {}).get("kind") == "explicit":
            raise CaseFileError(
                f"explicit weights name one cell's kernel, recurrent_kernel and bias; a {self.key} layer has "
                "one set per cell: use kind 'random' or 'constant'",
                key="weights.kind",
            )
        for name in self.refused_options:
            if getattr(options, name):
                raise CaseFileError(self.refusal(name), key=f"options.{name}")

    def refusal(self, option: str) -> str:
        return f"not checked together with {self.key} (the kit's references do not compose them)"

    def refuse_custom(self, custom: CustomSpec | None) -> None:
        if self.key and custom is not None:
            raise CaseFileError(
                "a custom cell runs alone: stack and bidirectional take the built-in families", key=self.key
            )

    # -- the family ---------------------------------------------------------------------------------
    @property
    def slots(self) -> tuple[str, ...]:
        """Name prefixes of the slots, in Keras's weight order."""
        return ("",)

    def __str__(self) -> str:
        return "single cell"

    def slot_features(self, index: int, features: int, units: int) -> int:
        return features

    def output_units(self, units: int) -> int:
        return units

    def compose(self, base: Family, features: int, units: int, options: Options) -> Family:
        """The composed layer as one family: prefixed states and weights, its output width."""
        if not self.key:
            return base
        weights: list[tuple[str, tuple[int, ...]]] = []
        for i, prefix in enumerate(self.slots):
            f = self.slot_features(i, features, units)
            weights += [(prefix + n, s) for n, s in base.weight_shapes(f, units, options).items()]
        states = tuple(p + n for p in self.slots for n in base.state_names)
        return replace(
            base,
            state_names=states,
            state_sizes=(units,) * len(states),
            weights=tuple(weights),
            output_units=self.output_units(units),
            oracle_module=None,  # composed from the base family's oracle by reference()
        )

    def nest(self, flat: list[Any], per_slot: int) -> list[Any]:
        """Flat states → what a Keras call takes."""
        return flat

    def step_state_shapes(self, shapes: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The states one cell step of the manual loop returns."""
        return shapes

    def merge(self, concat: Callable[[list[Any]], Any], forward: Any, backward: Any) -> Any:
        """Bidirectional's merge of two directions (other structures have one)."""
        raise NotImplementedError

    # -- the oracle ---------------------------------------------------------------------------------
    def reference(
        self, oracle: Any, case: Case, data: Any, options: dict[str, Any]
    ) -> tuple[Forward, Callable[[], Gradients]]:
        """(forward from an initial state, gradients of the item's loss) from the family's oracle."""

        def forward(state: tuple[np.ndarray, ...]) -> Trace:
            return oracle.forward(data.inputs, state, data.weights, **options)  # type: ignore[no-any-return]

        def gradients() -> Gradients:
            start, cot_states = loss_terms(case, data)
            return oracle.gradients(  # type: ignore[no-any-return]
                data.inputs,
                start,
                data.weights,
                cot_sequence=cot_sequence(case, data, case.units),
                cot_states=cot_states,
                **options,
            )

        return forward, gradients

    # -- Keras --------------------------------------------------------------------------------------
    def loop_cells(self, new_cell: Callable[[], Any], keras: Any, log: Log, shape: tuple[int, int]) -> Any:
        """The manual loop's cells: (the cell it steps, the cells per direction, whose weights are the
        case's). Each is built for ``shape``."""
        cell = new_cell()
        log(f"cell.build({shape})")
        cell.build(shape)
        return cell, [cell], cell

    def loop_label(self) -> str:
        """How the loop spells the states it passes to the cell."""
        return "states"

    def run_loop(
        self,
        loop: Callable[..., tuple[list[Any], list[Any]]],
        directions: list[Any],
        x: Any,
        states: list[Any],
        mask: Any,
        training: bool,
        go_backwards: bool,
        tf: Any,
        log: Log,
    ) -> tuple[Any, Any, list[Any]]:
        """(output sequence as returned, last output, final flat states) of the manual loop(s)."""
        outputs, states = loop(directions[0], x, states, mask, training, go_backwards)
        return tf.stack(outputs, axis=1), outputs[-1], states

    def wrapper_layer(self, new_cell: Callable[[], Any], keras: Any, kwargs: dict[str, Any], log: Log) -> Any:
        """keras.layers.RNN over the structure's cells (before :meth:`wrap`)."""
        cell = new_cell()
        log(f"layer = keras.layers.RNN(cell, {fmt_kwargs(kwargs)})")
        return keras.layers.RNN(cell, **kwargs)

    def wrap(self, layer: Any, keras: Any, log: Log) -> Any:
        """The layer as the structure composes it (Bidirectional wraps it)."""
        return layer

    def weights_owner(self, layer: Any) -> Any:
        """Whose trainable_weights are the case's weights on a layer path."""
        return getattr(layer, "cell", None) if not self.key else layer

    def split(self, value: Any, return_state: bool, concat: Callable[[list[Any]], Any]) -> tuple[Any, Any]:
        """(output, flat states or None) from what a layer call returned."""
        if return_state and isinstance(value, (list, tuple)):
            return value[0], flatten(value[1:])
        return value, None  # a missing state list is the shape check's finding


def fmt_kwargs(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
