"""GRU oracle: ``keras.layers.GRU`` in float64 NumPy, forward and hand-written BPTT.

Cell, as in ``GRUCell.call`` (keras-team/keras ``keras/src/layers/rnn/gru.py``), gate order z (update),
r (reset), h (candidate) along the last axis of ``kernel`` (features, 3u) and ``recurrent_kernel`` (u, 3u)::

    reset_after=True  (default; bias (2, 3u): row 0 input bias, row 1 recurrent bias)
        xm = x @ kernel + bias[0];  hm = h @ recurrent_kernel + bias[1]
        z = ra(xm_z + hm_z);  r = ra(xm_r + hm_r);  hh = act(xm_h + r * hm_h)
    reset_after=False (bias (3u,))
        xm = x @ kernel + bias
        z = ra(xm_z + h @ U_z);  r = ra(xm_r + h @ U_r);  hh = act(xm_h + (r * h) @ U_h)
    h' = z * h + (1 - z) * hh;  output = h'

Note the recurrent bias row also enters z and r (``matrix_inner += recurrent_bias`` before the split).
Time loop, masking and ``go_backwards`` live in :mod:`conformance.oracle.scan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance.oracle.scan import COMMON_OPTIONS, Family, activation_pair
from conformance.oracle.types import Array, States

STATE_NAMES: tuple[str, ...] = ("h",)
WEIGHT_NAMES: tuple[str, ...] = ("kernel", "recurrent_kernel", "bias")
#: Accepted options and their Keras defaults; anything else is a TypeError.
OPTIONS: Mapping[str, Any] = {
    **COMMON_OPTIONS,
    "activation": "tanh",
    "recurrent_activation": "sigmoid",
    "reset_after": True,
}


def _shapes(features: int, units: int, opts: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {
        "kernel": (features, 3 * units),
        "recurrent_kernel": (units, 3 * units),
    }
    if opts["use_bias"]:
        shapes["bias"] = (2, 3 * units) if opts["reset_after"] else (3 * units,)
    return shapes


@dataclass(frozen=True)
class GRUCell:
    """One GRU step with its options bound; the cache keeps pre-activations for the backward pass."""

    activation: str | None
    recurrent_activation: str | None
    use_bias: bool
    reset_after: bool

    def __post_init__(self) -> None:
        for name in (self.activation, self.recurrent_activation):
            activation_pair(name)  # an unknown name fails when the options are read, not mid-scan

    def _biases(self, weights: Mapping[str, Array], units: int) -> tuple[Array, Array]:
        """(input bias, recurrent bias), each (3u,); zeros where Keras has none."""
        if not self.use_bias:
            return np.zeros(3 * units), np.zeros(3 * units)
        if self.reset_after:
            return weights["bias"][0], weights["bias"][1]
        return weights["bias"], np.zeros(3 * units)

    def step(self, x_t: Array, states: States, weights: Mapping[str, Array]) -> tuple[Array, States, Any]:
        act, _ = activation_pair(self.activation)
        ra, _ = activation_pair(self.recurrent_activation)
        (h,) = states
        kernel, rec = weights["kernel"], weights["recurrent_kernel"]
        u = rec.shape[0]
        b_in, b_rec = self._biases(weights, u)
        xm = x_t @ kernel + b_in
        if self.reset_after:
            hm = h @ rec + b_rec
            a_z, a_r = xm[:, :u] + hm[:, :u], xm[:, u : 2 * u] + hm[:, u : 2 * u]
            z, r = ra(a_z), ra(a_r)
            a_h = xm[:, 2 * u :] + r * hm[:, 2 * u :]
        else:
            hm = h @ rec[:, : 2 * u]
            a_z, a_r = xm[:, :u] + hm[:, :u], xm[:, u : 2 * u] + hm[:, u:]
            z, r = ra(a_z), ra(a_r)
            a_h = xm[:, 2 * u :] + (r * h) @ rec[:, 2 * u :]
        hh = act(a_h)
        h_new = z * h + (1.0 - z) * hh
        cache = (x_t, h, hm, a_z, a_r, a_h, z, r, hh, weights)
        return h_new, (h_new,), cache

    def step_backward(
        self, cache: Any, d_out: Array, d_states: States
    ) -> tuple[Array, States, dict[str, Array]]:
        _, d_act = activation_pair(self.activation)
        _, d_ra = activation_pair(self.recurrent_activation)
        x_t, h, hm, a_z, a_r, a_h, z, r, hh, weights = cache
        kernel, rec = weights["kernel"], weights["recurrent_kernel"]
        u = rec.shape[0]
        dh_new = d_out + d_states[0]  # the output *is* h'
        d_z = dh_new * (h - hh)
        d_ah = dh_new * (1.0 - z) * d_act(a_h)
        dh_prev = dh_new * z
        if self.reset_after:
            d_r = d_ah * hm[:, 2 * u :]
            d_az, d_ar = d_z * d_ra(a_z), d_r * d_ra(a_r)
            dxm = np.concatenate([d_az, d_ar, d_ah], axis=1)
            dhm = np.concatenate([d_az, d_ar, d_ah * r], axis=1)
            d_rec = h.T @ dhm
            dh_prev = dh_prev + dhm @ rec.T
        else:
            rh = r * h
            d_rh = d_ah @ rec[:, 2 * u :].T
            d_r = d_rh * h
            d_az, d_ar = d_z * d_ra(a_z), d_r * d_ra(a_r)
            dxm = np.concatenate([d_az, d_ar, d_ah], axis=1)
            dhm = np.concatenate([d_az, d_ar], axis=1)
            d_rec = np.concatenate([h.T @ dhm, rh.T @ d_ah], axis=1)
            dh_prev = dh_prev + d_rh * r + dhm @ rec[:, : 2 * u].T
        dw = {"kernel": x_t.T @ dxm, "recurrent_kernel": d_rec}
        if self.use_bias:
            dw["bias"] = np.stack([dxm.sum(axis=0), dhm.sum(axis=0)]) if self.reset_after else dxm.sum(axis=0)
        return dxm @ kernel.T, (dh_prev,), dw


def _make_cell(opts: Mapping[str, Any]) -> GRUCell:
    return GRUCell(opts["activation"], opts["recurrent_activation"], opts["use_bias"], opts["reset_after"])


_FAMILY = Family(state_names=STATE_NAMES, defaults=OPTIONS, shapes=_shapes, make_cell=_make_cell)


# The module is the family's interface (conformance.oracle.types.Oracle): the time loop, masking and
# go_backwards are the shared scan's, bound here to this family's cell.
weight_shapes = _FAMILY.weight_shapes
forward = _FAMILY.forward
gradients = _FAMILY.gradients
