"""What an item should produce, in the item's own terms (its options, its loss), and who says so.

Three sources, best first: the kit's float64 oracle (built-in families: forward and gradients); a
custom cell's own NumPy reference function (``custom.reference``: forward only); or, for a custom cell
with neither, the manual loop over the same cell with the same numbers (cross-path agreement only).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from conformance.case import Case
from conformance.data import CaseData
from conformance.families import FAMILIES, Family, load_object
from conformance.oracle.types import Gradients, Trace

Forward = Callable[[tuple[np.ndarray, ...]], Trace]


class Reference:
    """Expected values for one item; ``gradients`` is None where the source has none."""

    def __init__(
        self,
        case: Case,
        data: CaseData,
        label: str,
        forward: Forward | None,
        gradients: Callable[[], Gradients] | None = None,
        main: Trace | None = None,
    ) -> None:
        self.case, self.data, self.label = case, data, label
        self._forward, self._gradients, self._main = forward, gradients, main

    @classmethod
    def for_item(cls, case: Case, data: CaseData, fam: Family, loop: Trace | None = None) -> Reference | None:
        """The best reference this item has (``loop``: the manual loop's run, for a cell with no other)."""
        if case.structure.kind != "single":
            composed = Composed(case, data, FAMILIES[case.layer])
            return cls(case, data, "oracle", composed.forward, composed.gradients)
        if fam.oracle_module is not None:
            oracle = fam.oracle()
            options = {**case.options.oracle_kwargs(fam.cell_options), "mask": data.mask}
            return cls(
                case,
                data,
                "oracle",
                lambda state: oracle.forward(data.inputs, state, data.weights, **options),
                lambda: _oracle_gradients(oracle, case, data, options),
            )
        if case.custom is not None and case.custom.reference is not None:
            function = load_object(case.custom.reference)
            return cls(
                case,
                data,
                f"reference {case.custom.reference}",
                lambda state: _as_trace(function(data.inputs, state, dict(data.weights))),
            )
        if loop is not None:
            return cls(case, data, "manual loop", None, main=loop)
        return None

    @property
    def start(self) -> tuple[np.ndarray, ...]:
        """The item's initial state; zeros when the path gets none (or calls get_initial_state)."""
        return self.data.initial_state if self.data.initial_state is not None else self.data.zero_state()

    @functools.cached_property
    def main(self) -> Trace:
        """The reference run from the item's own initial state."""
        if self._main is not None:
            return self._main
        return self.trace(self.start)  # type: ignore[return-value]

    def trace(self, initial_state: tuple[np.ndarray, ...]) -> Trace | None:
        """A run from another initial state, where the source can make one."""
        return None if self._forward is None else self._forward(initial_state)

    def output(self, trace: Trace | None = None) -> np.ndarray:
        """The layer's output as configured: the whole sequence or its last step."""
        trace = trace or self.main
        if self.case.options.return_sequences:
            return trace.sequence
        return trace.last if trace.last is not None else trace.sequence[:, -1]

    @functools.cached_property
    def gradients(self) -> Gradients | None:
        return None if self._gradients is None else self._gradients()


def _as_trace(result: Any) -> Trace:
    """A user reference returns ``(sequence, final_states)``; hold it to the oracle's float64 form."""
    sequence, states = result
    return Trace(
        np.asarray(sequence, dtype=np.float64), tuple(np.asarray(s, dtype=np.float64) for s in states)
    )


def _cot_sequence(case: Case, data: CaseData, units: int) -> np.ndarray:
    """The loss's cotangent on the output as a whole sequence (zeros but the last step when the layer
    returns only the last output)."""
    cot = np.zeros((case.batch, case.timesteps, units))
    if case.options.return_sequences:
        cot[:] = data.cot_output
    else:
        cot[:, -1] = data.cot_output
    return cot


def _loss_terms(case: Case, data: CaseData) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """(initial state, cotangents of the final states) of the item's loss: states count where returned."""
    start = data.initial_state if data.initial_state is not None else data.zero_state()
    return start, data.cot_states if case.options.return_state else data.zero_state()


def _oracle_gradients(oracle: Any, case: Case, data: CaseData, options: dict[str, Any]) -> Gradients:
    """Gradients of the item's loss (see :mod:`conformance.run`) at the item's initial state."""
    start, cot_states = _loss_terms(case, data)
    cot_sequence = _cot_sequence(case, data, case.units)
    return oracle.gradients(
        data.inputs, start, data.weights, cot_sequence=cot_sequence, cot_states=cot_states, **options
    )


class Composed:
    """The base family's oracle composed as the layer composes its cells.

    * stacked: each cell runs over the sequence the cell below returned (in processing order, so only the
      first reverses for go_backwards); the mask applies to every cell; states are the cells' in order.
    * bidirectional: the forward run, and the backward run (``go_backwards``) reversed back to input
      time, merged; the last output merges each run's last step. Bidirectional sets its layers'
      ``zero_output_for_mask`` to their ``return_sequences`` (keras ``bidirectional.py``), so a returned
      sequence has zeros at masked steps while the last output carries. Gradients: the merge's cotangent
      split per direction (concat: halves; sum: both; ave: halves of it; mul: times the other direction).
    """

    def __init__(self, case: Case, data: CaseData, base: Family) -> None:
        self.case, self.data, self.oracle = case, data, base.oracle()
        self.options = {**case.options.oracle_kwargs(base.cell_options), "mask": data.mask}
        self.n = base.n_states
        self.slots = case.structure.slots

    def _weights(self, slot: str) -> dict[str, np.ndarray]:
        return {k[len(slot) :]: v for k, v in self.data.weights.items() if k.startswith(slot)}

    def _slot_options(self, index: int) -> dict[str, Any]:
        """Options for one slot: a stack's upper cells read processing order; the backward pair reverses."""
        opts = dict(self.options)
        if self.case.structure.kind == "stacked" and index > 0:
            opts["go_backwards"] = False
            if opts["mask"] is not None and self.case.options.go_backwards:
                opts["mask"] = opts["mask"][:, ::-1]
        if self.case.structure.kind == "bidirectional":
            opts["go_backwards"] = index == 1
            opts["zero_output_for_mask"] = False  # see forward: zeros are applied to the sequence only
        return opts

    def _states(self, state: tuple[np.ndarray, ...], index: int) -> tuple[np.ndarray, ...]:
        return tuple(state[index * self.n : (index + 1) * self.n])

    def _merge(self, f: np.ndarray, b: np.ndarray) -> np.ndarray:
        mode = self.case.structure.merge_mode
        if mode in ("concat", "none"):
            return np.concatenate([f, b], axis=-1)
        return {"sum": f + b, "mul": f * b, "ave": (f + b) / 2}[mode]

    def forward(self, state: tuple[np.ndarray, ...]) -> Trace:
        if self.case.structure.kind == "stacked":
            seq, states = self.data.inputs, list[np.ndarray]()
            for i, slot in enumerate(self.slots):
                trace = self.oracle.forward(
                    seq, self._states(state, i), self._weights(slot), **self._slot_options(i)
                )
                seq, states = trace.sequence, [*states, *trace.states]
            return Trace(seq, tuple(states))
        runs = [
            self.oracle.forward(
                self.data.inputs, self._states(state, i), self._weights(slot), **self._slot_options(i)
            )
            for i, slot in enumerate(self.slots)
        ]
        f, b = runs
        sequence = self._merge(f.sequence, b.sequence[:, ::-1])
        if self.data.mask is not None:  # Bidirectional's forced zero_output_for_mask on returned sequences
            sequence = np.where(self.data.mask[:, :, None], sequence, 0.0)
        return Trace(
            sequence,
            (*f.states, *b.states),
            last=self._merge(f.sequence[:, -1], b.sequence[:, -1]),
        )

    def gradients(self) -> Gradients:
        data, case = self.data, self.case
        start, cot_states = _loss_terms(case, data)
        u = case.units
        weights: dict[str, np.ndarray] = {}
        if case.structure.kind == "stacked":
            inputs = [data.inputs]
            for i, slot in enumerate(self.slots[:-1]):
                trace = self.oracle.forward(
                    inputs[-1], self._states(start, i), self._weights(slot), **self._slot_options(i)
                )
                inputs.append(trace.sequence)
            cot = _cot_sequence(case, data, u)
            state_grads: list[tuple[np.ndarray, ...]] = []
            for i in range(len(self.slots) - 1, -1, -1):
                slot = self.slots[i]
                g = self.oracle.gradients(
                    inputs[i],
                    self._states(start, i),
                    self._weights(slot),
                    cot_sequence=cot,
                    cot_states=self._states(cot_states, i),
                    **self._slot_options(i),
                )
                weights.update({slot + k: v for k, v in g.weights.items()})
                state_grads.insert(0, g.initial_state)
                cot = g.inputs  # the cell below returned this sequence, in the order this cell read it
            return Gradients(cot, tuple(s for group in state_grads for s in group), weights)
        f, b = (
            self.oracle.forward(
                data.inputs, self._states(start, i), self._weights(s), **self._slot_options(i)
            )
            for i, s in enumerate(self.slots)
        )
        mode = case.structure.merge_mode
        merged = _cot_sequence(case, data, 2 * u if mode in ("concat", "none") else u)
        b_aligned = b.sequence[:, ::-1]  # backward outputs in input time
        if not case.options.return_sequences:  # the last output merges each run's own last step
            b_aligned = np.zeros_like(b.sequence)
            b_aligned[:, -1] = b.sequence[:, -1]
        if mode in ("concat", "none"):
            cf, cb = merged[..., :u], merged[..., u:]
        elif mode == "sum":
            cf, cb = merged, merged
        elif mode == "ave":
            cf, cb = merged / 2, merged / 2
        else:  # mul
            cf, cb = merged * b_aligned, merged * f.sequence
        # cb is in input time, except for the last-output case where it already sits at the backward run's
        # last step; the backward run wants it in its processing order.
        cb_processing = cb[:, ::-1] if case.options.return_sequences else cb
        zero = {"zero_output_for_mask": case.options.return_sequences}  # as Bidirectional forces it
        grads = [
            self.oracle.gradients(
                data.inputs,
                self._states(start, i),
                self._weights(slot),
                cot_sequence=cot,
                cot_states=self._states(cot_states, i),
                **{**self._slot_options(i), **zero},
            )
            for i, (slot, cot) in enumerate(zip(self.slots, (cf, cb_processing)))
        ]
        for slot, g in zip(self.slots, grads):
            weights.update({slot + k: v for k, v in g.weights.items()})
        return Gradients(
            grads[0].inputs + grads[1].inputs,
            (*grads[0].initial_state, *grads[1].initial_state),
            weights,
        )
