"""What the oracle says an item should produce, in the item's own terms (its options, its loss)."""

from __future__ import annotations

import functools

import numpy as np

from conformance.case import Case
from conformance.data import CaseData
from conformance.families import FAMILIES
from conformance.oracle.types import Gradients, Trace


class Reference:
    """The float64 oracle bound to one item's case and numbers."""

    def __init__(self, case: Case, data: CaseData) -> None:
        self.case, self.data = case, data
        self.oracle = FAMILIES[case.layer].oracle()
        self.options = case.options.oracle_kwargs()

    @property
    def start(self) -> tuple[np.ndarray, ...]:
        """The item's initial state; zeros when the path gets none (or calls get_initial_state)."""
        return self.data.initial_state if self.data.initial_state is not None else self.data.zero_state()

    @functools.cached_property
    def main(self) -> Trace:
        """The oracle's run from the item's own initial state."""
        return self.trace(self.start)

    def trace(self, initial_state: tuple[np.ndarray, ...]) -> Trace:
        return self.oracle.forward(self.data.inputs, initial_state, self.data.weights, **self.options)

    def output(self, trace: Trace | None = None) -> np.ndarray:
        """The layer's output as configured: the whole sequence or its last step."""
        trace = trace or self.main
        return trace.sequence if self.case.options.return_sequences else trace.sequence[:, -1]

    @functools.cached_property
    def gradients(self) -> Gradients:
        """Gradients of the item's loss (see :mod:`conformance.run`) at the item's initial state."""
        b, t, u = self.case.batch, self.case.timesteps, self.case.units
        cot_sequence = np.zeros((b, t, u))
        if self.case.options.return_sequences:
            cot_sequence[:] = self.data.cot_output
        else:
            cot_sequence[:, -1] = self.data.cot_output
        cot_states = self.data.cot_states if self.case.options.return_state else self.data.zero_state()
        return self.oracle.gradients(
            self.data.inputs,
            self.start,
            self.data.weights,
            cot_sequence=cot_sequence,
            cot_states=cot_states,
            **self.options,
        )
