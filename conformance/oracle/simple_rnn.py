"""SimpleRNN oracle: ``keras.layers.SimpleRNN`` in float64 NumPy, forward and hand-written BPTT.

Cell, as in ``SimpleRNNCell.call`` (keras-team/keras ``keras/src/layers/rnn/simple_rnn.py``), with
``kernel`` (features, u), ``recurrent_kernel`` (u, u), ``bias`` (u,)::

    h' = act(x @ kernel + bias + h @ recurrent_kernel);  output = h'

SimpleRNN has no ``recurrent_activation``; passing one is a TypeError. Time loop, masking and
``go_backwards`` live in :mod:`conformance.oracle.scan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.oracle.scan import COMMON_OPTIONS, Family, activation_pair
from conformance.oracle.types import Array, States

STATE_NAMES: tuple[str, ...] = ("h",)
WEIGHT_NAMES: tuple[str, ...] = ("kernel", "recurrent_kernel", "bias")
#: Accepted options and their Keras defaults; anything else is a TypeError.
OPTIONS: Mapping[str, Any] = {**COMMON_OPTIONS, "activation": "tanh"}


def _shapes(features: int, units: int, opts: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {"kernel": (features, units), "recurrent_kernel": (units, units)}
    if opts["use_bias"]:
        shapes["bias"] = (units,)
    return shapes


@dataclass(frozen=True)
class SimpleRNNCell:
    """One SimpleRNN step with its options bound; the cache keeps the pre-activation."""

    activation: str | None
    use_bias: bool

    def __post_init__(self) -> None:
        activation_pair(self.activation)  # an unknown name fails when the options are read, not mid-scan

    def step(self, x_t: Array, states: States, weights: Mapping[str, Array]) -> tuple[Array, States, Any]:
        act, _ = activation_pair(self.activation)
        (h,) = states
        a = x_t @ weights["kernel"] + h @ weights["recurrent_kernel"]
        if self.use_bias:
            a = a + weights["bias"]
        h_new = act(a)
        return h_new, (h_new,), (x_t, h, a, weights)

    def step_backward(
        self, cache: Any, d_out: Array, d_states: States
    ) -> tuple[Array, States, dict[str, Array]]:
        _, d_act = activation_pair(self.activation)
        x_t, h, a, weights = cache
        da = (d_out + d_states[0]) * d_act(a)  # the output *is* h'
        dw = {"kernel": x_t.T @ da, "recurrent_kernel": h.T @ da}
        if self.use_bias:
            dw["bias"] = da.sum(axis=0)
        return da @ weights["kernel"].T, (da @ weights["recurrent_kernel"].T,), dw


def _make_cell(opts: Mapping[str, Any]) -> SimpleRNNCell:
    return SimpleRNNCell(opts["activation"], opts["use_bias"])


_FAMILY = Family(state_names=STATE_NAMES, defaults=OPTIONS, shapes=_shapes, make_cell=_make_cell)


# The module is the family's interface (conformance.oracle.types.Oracle): the time loop, masking and
# go_backwards are the shared scan's, bound here to this family's cell.
weight_shapes = _FAMILY.weight_shapes
forward = _FAMILY.forward
gradients = _FAMILY.gradients
