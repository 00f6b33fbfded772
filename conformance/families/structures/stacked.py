"""``stack = N``: N cells of the family, bottom-up (StackedRNNCells in the loop, RNN([cell, ...]))."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from conformance.errors import CaseFileError
from conformance.families.structures.base import (
    Forward,
    Log,
    Structure,
    cot_sequence,
    fmt_kwargs,
    loss_terms,
)
from conformance.oracle.types import Gradients, Trace

if TYPE_CHECKING:
    from conformance.casefile.case import Case, Options


@dataclass(frozen=True)
class Stacked(Structure):
    key: ClassVar[str] = "stack"
    kind: ClassVar[str] = "stacked"
    refused_options: ClassVar[tuple[str, ...]] = ("stateful",)
    named_per_slot: ClassVar[bool] = True
    cells: int = 2

    @classmethod
    def from_case(cls, raw: Mapping[str, Any]) -> Stacked:
        return cls(cells=int(raw["stack"]))

    def validate(self, raw: Mapping[str, Any], options: Options, paths: Sequence[str]) -> None:
        if "fused_layer" in paths:
            raise CaseFileError(
                "no fused layer stacks cells: stack needs paths without fused_layer (manual_loop, "
                "rnn_wrapper)",
                key="stack",
            )
        super().validate(raw, options, paths)

    @property
    def slots(self) -> tuple[str, ...]:
        return tuple(f"cells[{i}]." for i in range(self.cells))

    def __str__(self) -> str:
        return f"{self.cells} stacked cells"

    def slot_features(self, index: int, features: int, units: int) -> int:
        return units if index > 0 else features  # upper cells read the cell below's output

    def nest(self, flat: list[Any], per_slot: int) -> list[Any]:
        """One list per cell, as a stack's call takes its states."""
        return [flat[i * per_slot : (i + 1) * per_slot] for i in range(self.cells)]

    # -- the oracle: each cell runs over the sequence the cell below returned --------------------------
    def _slot(self, i: int, state: tuple[np.ndarray, ...], weights: Mapping[str, np.ndarray], n: int) -> Any:
        slot = self.slots[i]
        return (
            tuple(state[i * n : (i + 1) * n]),
            {k[len(slot) :]: v for k, v in weights.items() if k.startswith(slot)},
        )

    def _options(self, index: int, options: dict[str, Any]) -> dict[str, Any]:
        """Upper cells read the sequence in processing order: only the bottom one reverses it."""
        opts = dict(options)
        if index > 0:
            opts["go_backwards"] = False
            if opts["mask"] is not None and options.get("go_backwards"):
                opts["mask"] = opts["mask"][:, ::-1]
        return opts

    def reference(
        self, oracle: Any, case: Case, data: Any, options: dict[str, Any]
    ) -> tuple[Forward, Callable[[], Gradients]]:
        n = len(oracle.STATE_NAMES)

        def forward(state: tuple[np.ndarray, ...]) -> Trace:
            seq, states = data.inputs, list[np.ndarray]()
            for i in range(self.cells):
                start, weights = self._slot(i, state, data.weights, n)
                trace = oracle.forward(seq, start, weights, **self._options(i, options))
                seq, states = trace.sequence, [*states, *trace.states]
            return Trace(seq, tuple(states))

        def gradients() -> Gradients:
            start, cot_states = loss_terms(case, data)
            inputs = [data.inputs]
            for i in range(self.cells - 1):
                state, weights = self._slot(i, start, data.weights, n)
                inputs.append(
                    oracle.forward(inputs[-1], state, weights, **self._options(i, options)).sequence
                )
            cot = cot_sequence(case, data, case.units)
            grads: dict[str, np.ndarray] = {}
            state_grads: list[tuple[np.ndarray, ...]] = []
            for i in range(self.cells - 1, -1, -1):
                state, weights = self._slot(i, start, data.weights, n)
                g = oracle.gradients(
                    inputs[i],
                    state,
                    weights,
                    cot_sequence=cot,
                    cot_states=tuple(cot_states[i * n : (i + 1) * n]),
                    **self._options(i, options),
                )
                grads.update({self.slots[i] + k: v for k, v in g.weights.items()})
                state_grads.insert(0, g.initial_state)
                cot = g.inputs  # the cell below returned this sequence, in the order this cell read it
            return Gradients(cot, tuple(s for group in state_grads for s in group), grads)

        return forward, gradients

    # -- Keras ----------------------------------------------------------------------------------------
    def loop_cells(self, new_cell: Callable[[], Any], keras: Any, log: Log, shape: tuple[int, int]) -> Any:
        cells = [new_cell() for _ in range(self.cells)]
        log(f"cell = keras.layers.StackedRNNCells([{', '.join(['cell'] * len(cells))}])")
        cell = keras.layers.StackedRNNCells(cells)
        log(f"cell.build({shape})")
        cell.build(shape)
        return cell, [cell], cell

    def loop_label(self) -> str:
        return "[[h, ...] per cell]"

    def wrapper_layer(self, new_cell: Callable[[], Any], keras: Any, kwargs: dict[str, Any], log: Log) -> Any:
        cells = [new_cell() for _ in range(self.cells)]
        log(f"layer = keras.layers.RNN([{', '.join(['cell'] * len(cells))}], {fmt_kwargs(kwargs)})")
        return keras.layers.RNN(cells, **kwargs)
