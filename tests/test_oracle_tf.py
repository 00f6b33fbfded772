"""The oracle against TensorFlow itself, in float64, without the kit's path code in between.

test_oracle.py pins the oracle to hand-computed values and to finite differences; this pins it to what
Keras computes, so that an agreement failure in the suite means TF moved, not that the oracle is wrong.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from conformance.oracle import ORACLES

pytestmark = pytest.mark.requires_tf

LAYERS = {"lstm": ("LSTM", 4), "gru": ("GRU", 3), "simple_rnn": ("SimpleRNN", 1)}


def _keras_run(
    tf: ModuleType,
    family: str,
    x: np.ndarray,
    state: tuple[np.ndarray, ...],
    weights: dict[str, np.ndarray],
    mask: np.ndarray | None,
    **options: Any,
) -> tuple[Any, ...]:
    """Keras's sequence, final states and gradients of sum(cot * sequence) + sum(cot_s * state)."""
    layer_name, _ = LAYERS[family]
    layer = getattr(tf.keras.layers, layer_name)(
        weights["recurrent_kernel"].shape[0],
        return_sequences=True,
        return_state=True,
        dtype="float64",
        **options,
    )
    layer.build(x.shape)
    layer.set_weights([weights[k] for k in ("kernel", "recurrent_kernel", "bias") if k in weights])
    rng = np.random.default_rng(5)
    xt = tf.constant(x)
    st = [tf.constant(s) for s in state]
    with tf.GradientTape() as tape:
        tape.watch(xt)
        for s in st:
            tape.watch(s)
        kwargs = {"mask": tf.constant(mask)} if mask is not None else {}
        out = layer(xt, initial_state=st if len(st) > 1 else st[0], **kwargs)
        seq, finals = out[0], out[1:]
        cot_seq = rng.uniform(-1, 1, seq.shape)
        cots = [rng.uniform(-1, 1, s.shape) for s in finals]
        loss = tf.reduce_sum(seq * cot_seq) + sum(tf.reduce_sum(s * c) for s, c in zip(finals, cots))
    grads = tape.gradient(loss, [xt, *st, *layer.cell.trainable_weights])
    return np.asarray(seq), [np.asarray(s) for s in finals], cot_seq, cots, [np.asarray(g) for g in grads]


CONFIGS = [
    ("lstm", {}, None),
    ("lstm", {"go_backwards": True}, None),
    ("lstm", {"activation": "relu", "recurrent_activation": "tanh", "use_bias": False}, None),
    ("lstm", {}, "right-padded"),
    ("gru", {"reset_after": True}, None),
    ("gru", {"reset_after": False}, None),
    ("gru", {"reset_after": True}, "left-padded"),
    ("simple_rnn", {}, None),
    ("simple_rnn", {"go_backwards": True}, "right-padded"),
]


@pytest.mark.parametrize(("family", "options", "masking"), CONFIGS, ids=lambda v: str(v))
def test_oracle_matches_keras_float64(
    tf: ModuleType, family: str, options: dict[str, Any], masking: str | None
) -> None:
    oracle = ORACLES[family]
    rng = np.random.default_rng(0)
    b, t, f, u = 3, 6, 4, 5
    x = rng.uniform(-1, 1, (b, t, f))
    shapes = oracle.weight_shapes(f, u, **options)
    weights = {k: rng.uniform(-0.6, 0.6, s) for k, s in shapes.items()}
    state = tuple(rng.uniform(-0.5, 0.5, (b, u)) for _ in oracle.STATE_NAMES)
    mask = None
    if masking == "right-padded":
        mask = np.array([[True] * t, [True] * 4 + [False] * 2, [True] * 2 + [False] * 4])
    elif masking == "left-padded":
        mask = np.array([[True] * t, [False] * 2 + [True] * 4, [False] * 5 + [True]])
    seq, finals, cot_seq, cots, grads = _keras_run(tf, family, x, state, weights, mask, **options)
    trace = oracle.forward(x, state, weights, mask=mask, **options)
    np.testing.assert_allclose(trace.sequence, seq, rtol=1e-9, atol=1e-11)
    for got, want in zip(trace.states, finals):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
    g = oracle.gradients(
        x, state, weights, cot_sequence=cot_seq, cot_states=tuple(cots), mask=mask, **options
    )
    expected = [g.inputs, *g.initial_state, *(g.weights[k] for k in shapes)]
    for got, want in zip(expected, grads):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
