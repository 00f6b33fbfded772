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
from conformance.families import Family, load_object
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
        return trace.sequence if self.case.options.return_sequences else trace.sequence[:, -1]

    @functools.cached_property
    def gradients(self) -> Gradients | None:
        return None if self._gradients is None else self._gradients()


def _as_trace(result: Any) -> Trace:
    """A user reference returns ``(sequence, final_states)``; hold it to the oracle's float64 form."""
    sequence, states = result
    return Trace(
        np.asarray(sequence, dtype=np.float64), tuple(np.asarray(s, dtype=np.float64) for s in states)
    )


def _oracle_gradients(oracle: Any, case: Case, data: CaseData, options: dict[str, Any]) -> Gradients:
    """Gradients of the item's loss (see :mod:`conformance.run`) at the item's initial state."""
    b, t, u = case.batch, case.timesteps, case.units
    cot_sequence = np.zeros((b, t, u))
    if case.options.return_sequences:
        cot_sequence[:] = data.cot_output
    else:
        cot_sequence[:, -1] = data.cot_output
    cot_states = data.cot_states if case.options.return_state else data.zero_state()
    start = data.initial_state if data.initial_state is not None else data.zero_state()
    return oracle.gradients(
        data.inputs, start, data.weights, cot_sequence=cot_sequence, cot_states=cot_states, **options
    )
