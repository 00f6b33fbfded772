"""LSTM oracle: ``keras.layers.LSTM`` in float64 NumPy, forward and hand-written BPTT.

Cell, as in ``LSTMCell.call`` (keras-team/keras ``keras/src/layers/rnn/lstm.py``, fused implementation 2;
implementation 1 computes the same thing with split kernels), gate order i, f, c, o along the last axis
of ``kernel`` (features, 4u), ``recurrent_kernel`` (u, 4u) and ``bias`` (4u,)::

    z = x @ kernel + h @ recurrent_kernel + bias
    i, f, o = ra(z_i), ra(z_f), ra(z_o);  g = act(z_c)
    c' = f * c + i * g;  h' = o * act(c');  output = h'

States are ``(h, c)`` in that order (``return_state`` gives ``output, h, c``). Time loop, masking and
``go_backwards`` live in :mod:`conformance.oracle.scan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance.oracle.scan import COMMON_OPTIONS, Family, activation_pair
from conformance.oracle.types import Array, States

STATE_NAMES: tuple[str, ...] = ("h", "c")
WEIGHT_NAMES: tuple[str, ...] = ("kernel", "recurrent_kernel", "bias")
#: Accepted options and their Keras defaults; anything else is a TypeError.
OPTIONS: Mapping[str, Any] = {**COMMON_OPTIONS, "activation": "tanh", "recurrent_activation": "sigmoid"}


def _shapes(features: int, units: int, opts: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {
        "kernel": (features, 4 * units),
        "recurrent_kernel": (units, 4 * units),
    }
    if opts["use_bias"]:
        shapes["bias"] = (4 * units,)
    return shapes


@dataclass(frozen=True)
class LSTMCell:
    """One LSTM step with its options bound; the cache keeps the pre-activations for the backward pass."""

    activation: str | None
    recurrent_activation: str | None
    use_bias: bool

    def __post_init__(self) -> None:
        for name in (self.activation, self.recurrent_activation):
            activation_pair(name)  # an unknown name fails when the options are read, not mid-scan

    def step(self, x_t: Array, states: States, weights: Mapping[str, Array]) -> tuple[Array, States, Any]:
        act, _ = activation_pair(self.activation)
        ra, _ = activation_pair(self.recurrent_activation)
        h, c = states
        z = x_t @ weights["kernel"] + h @ weights["recurrent_kernel"]
        if self.use_bias:
            z = z + weights["bias"]
        z_i, z_f, z_c, z_o = np.split(z, 4, axis=1)
        i, f, g, o = ra(z_i), ra(z_f), act(z_c), ra(z_o)
        c_new = f * c + i * g
        h_new = o * act(c_new)
        cache = (x_t, h, c, z_i, z_f, z_c, z_o, i, f, g, o, c_new, weights)
        return h_new, (h_new, c_new), cache

    def step_backward(
        self, cache: Any, d_out: Array, d_states: States
    ) -> tuple[Array, States, dict[str, Array]]:
        act, d_act = activation_pair(self.activation)
        _, d_ra = activation_pair(self.recurrent_activation)
        x_t, h, c, z_i, z_f, z_c, z_o, i, f, g, o, c_new, weights = cache
        d_h_new, d_c_new = d_states
        dh = d_out + d_h_new  # the output *is* h'
        d_o = dh * act(c_new)
        dc = d_c_new + dh * o * d_act(c_new)
        d_i, d_f, d_g, d_c_prev = dc * g, dc * c, dc * i, dc * f
        dz = np.concatenate([d_i * d_ra(z_i), d_f * d_ra(z_f), d_g * d_act(z_c), d_o * d_ra(z_o)], axis=1)
        dw = {"kernel": x_t.T @ dz, "recurrent_kernel": h.T @ dz}
        if self.use_bias:
            dw["bias"] = dz.sum(axis=0)
        dx = dz @ weights["kernel"].T
        dh_prev = dz @ weights["recurrent_kernel"].T
        return dx, (dh_prev, d_c_prev), dw


def _make_cell(opts: Mapping[str, Any]) -> LSTMCell:
    return LSTMCell(opts["activation"], opts["recurrent_activation"], opts["use_bias"])


_FAMILY = Family(state_names=STATE_NAMES, defaults=OPTIONS, shapes=_shapes, make_cell=_make_cell)


# The module is the family's interface (conformance.oracle.types.Oracle): the time loop, masking and
# go_backwards are the shared scan's, bound here to this family's cell.
weight_shapes = _FAMILY.weight_shapes
forward = _FAMILY.forward
gradients = _FAMILY.gradients
