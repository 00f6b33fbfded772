"""Data shared by the three oracle families: what a run returns and what a per-step cell must provide.

Keeping these in one module lets the scan (:mod:`conformance.oracle.scan`) own the time loop, masking and
``go_backwards`` once, while each family only writes its single-step forward and backward.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

Array = np.ndarray
States = tuple[np.ndarray, ...]


# eq=False: a generated __eq__ would compare arrays with ``==`` and fail on truth value; compare fields.
@dataclass(frozen=True, eq=False)
class Trace:
    """The result of a forward run, float64.

    ``sequence`` is ``(batch, time, units)``: the (mask-adjusted) output at every step in processing order,
    exactly what Keras returns with ``return_sequences=True`` (reversed time when ``go_backwards``); its
    last step is what Keras returns with ``return_sequences=False``. ``states`` are the final states, each
    ``(batch, units)``, in Keras order.
    """

    sequence: np.ndarray
    states: States
    last: np.ndarray | None = None  # where the last output is not sequence[:, -1] (Bidirectional's backward)


@dataclass(frozen=True, eq=False)
class Gradients:
    """Gradients of ``L = sum(cot_sequence * sequence) + sum_k sum(cot_states[k] * states[k])``, float64."""

    inputs: np.ndarray  # dL/dx, (batch, time, features), in input time order
    initial_state: States
    weights: dict[str, np.ndarray]  # same keys as the weights passed in


class Cell(Protocol):
    """One recurrent step and its hand-written reverse-mode derivative, with options already bound."""

    def step(self, x_t: Array, states: States, weights: Mapping[str, Array]) -> tuple[Array, States, Any]:
        """Return ``(output, new_states, cache)``; ``cache`` is whatever ``step_backward`` needs."""
        ...

    def step_backward(
        self, cache: Any, d_out: Array, d_states: States
    ) -> tuple[Array, States, dict[str, Array]]:
        """Given dL/d(output) and dL/d(new_states), return ``(dx_t, d_states_prev, d_weights)``."""
        ...


class Oracle(Protocol):
    """The interface every family module implements (modules satisfy it structurally)."""

    STATE_NAMES: tuple[str, ...]
    WEIGHT_NAMES: tuple[str, ...]
    OPTIONS: Mapping[str, Any]

    def weight_shapes(self, features: int, units: int, **options: Any) -> dict[str, tuple[int, ...]]: ...

    def forward(
        self,
        x: Any,
        initial_state: tuple[Any, ...],
        weights: Mapping[str, Any],
        *,
        mask: Any = None,
        **options: Any,
    ) -> Trace: ...

    def gradients(
        self,
        x: Any,
        initial_state: tuple[Any, ...],
        weights: Mapping[str, Any],
        *,
        cot_sequence: Any,
        cot_states: tuple[Any, ...],
        mask: Any = None,
        **options: Any,
    ) -> Gradients: ...
