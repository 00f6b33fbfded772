"""Activation functions and their derivatives in float64, as Keras documents them.

The oracle must not share code with Keras, so these are written from the documented formulas.
Each entry maps a Keras activation name to ``(f, df)`` where ``df`` takes the *pre-activation*.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray


def _sigmoid(z: Array) -> Array:
    out = np.empty_like(z, dtype=np.float64)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _dsigmoid(z: Array) -> Array:
    s = _sigmoid(z)
    return s * (1.0 - s)


def _dtanh(z: Array) -> Array:
    return 1.0 - np.tanh(z) ** 2


ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "tanh": (np.tanh, _dtanh),
    "sigmoid": (_sigmoid, _dsigmoid),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.float64)),
    "linear": (lambda z: z.astype(np.float64), lambda z: np.ones_like(z, dtype=np.float64)),
}


def activation(name: str) -> tuple[Callable[[Array], Array], Callable[[Array], Array]]:
    """Return ``(f, df)`` for a Keras activation name; unknown names are a programming error."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"the oracle has no activation {name!r}; known: {sorted(ACTIVATIONS)}") from None
