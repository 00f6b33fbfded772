"""The oracle adapter: what an item should produce, in the item's own terms (its options, its loss).

Three sources, best first: the kit's float64 oracle, composed as the case's structure composes its cells
(built-in families: forward and gradients); a custom cell's own NumPy reference function
(``custom.reference``: forward only); or, for a custom cell with neither, the manual loop over the same
cell with the same numbers (cross-path agreement only).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from conformance.casefile.case import Case
from conformance.families import FAMILIES, custom
from conformance.families.base import Family
from conformance.oracle.types import Gradients, Trace
from conformance.run.data import CaseData

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
        if case.custom is None:
            base = FAMILIES[case.layer]
            options = {**case.options.oracle_kwargs(base.cell_options), "mask": data.mask}
            forward, gradients = case.structure.reference(base.oracle(), case, data, options)
            return cls(case, data, "oracle", forward, gradients)
        if case.custom.reference is not None:
            function = custom.load_object(case.custom.reference)
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
