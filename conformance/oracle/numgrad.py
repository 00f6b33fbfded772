"""Central-difference gradients of the oracle loss, float64, for checking the analytic BPTT in tests.

Deliberately naive (one element at a time, through the public ``forward``) so that it shares nothing with
the hand-written backward passes it checks. Too slow for anything but small shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from conformance.oracle.types import Array, Gradients, Oracle


def loss(
    oracle: Oracle,
    x: Any,
    initial_state: tuple[Any, ...],
    weights: Mapping[str, Any],
    *,
    cot_sequence: Any,
    cot_states: tuple[Any, ...],
    mask: Any = None,
    **options: Any,
) -> float:
    """``sum(cot_sequence * sequence) + sum_k sum(cot_states[k] * states[k])`` for one forward run."""
    trace = oracle.forward(x, initial_state, weights, mask=mask, **options)
    total = float(np.sum(np.asarray(cot_sequence, dtype=np.float64) * trace.sequence))
    for cot, state in zip(cot_states, trace.states, strict=True):
        total += float(np.sum(np.asarray(cot, dtype=np.float64) * state))
    return total


def central_difference(f: Callable[[], float], arr: Array, eps: float) -> Array:
    """d f / d arr, perturbing ``arr`` in place (restored afterwards); ``f`` reads ``arr`` when called."""
    grad = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        orig = arr[idx]
        arr[idx] = orig + eps
        plus = f()
        arr[idx] = orig - eps
        minus = f()
        arr[idx] = orig
        grad[idx] = (plus - minus) / (2.0 * eps)
    return grad


def numerical_gradients(
    oracle: Oracle,
    x: Any,
    initial_state: tuple[Any, ...],
    weights: Mapping[str, Any],
    *,
    cot_sequence: Any,
    cot_states: tuple[Any, ...],
    mask: Any = None,
    eps: float = 1e-6,
    **options: Any,
) -> Gradients:
    """Same result type as ``oracle.gradients``, by central differences with step ``eps``."""
    xa = np.array(x, dtype=np.float64)
    states = [np.array(s, dtype=np.float64) for s in initial_state]
    w = {name: np.array(v, dtype=np.float64) for name, v in weights.items()}

    def f() -> float:
        return loss(
            oracle,
            xa,
            tuple(states),
            w,
            cot_sequence=cot_sequence,
            cot_states=cot_states,
            mask=mask,
            **options,
        )

    return Gradients(
        inputs=central_difference(f, xa, eps),
        initial_state=tuple(central_difference(f, s, eps) for s in states),
        weights={name: central_difference(f, v, eps) for name, v in w.items()},
    )
