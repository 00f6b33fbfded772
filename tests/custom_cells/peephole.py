"""A user's own cell, as a team would write it: an LSTM with peephole connections (Gers & Schmidhuber).

It meets the contract docs/case-format.md states for custom cells — a Keras layer taking ``units``
first, with ``state_size``, ``output_size``, weights made in ``build`` and ``call(inputs, states)``
returning ``(output, new_states)`` — and works on Keras 2 and Keras 3. ``peephole_reference`` is its
NumPy reference, for ``custom.reference``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

keras = tf.keras


class PeepholeLSTMCell(keras.layers.Layer):
    def __init__(self, units: int, peephole_scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.peephole_scale = peephole_scale
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        u = self.units
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], 4 * u), initializer="glorot_uniform"
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(u, 4 * u), initializer="orthogonal"
        )
        self.bias = self.add_weight(name="bias", shape=(4 * u,), initializer="zeros")
        self.peephole = self.add_weight(name="peephole", shape=(3, u), initializer="glorot_uniform")
        self.built = True

    def call(self, inputs, states, training=None):
        h, c = states[0], states[1]
        p = self.peephole * self.peephole_scale
        z = tf.matmul(inputs, self.kernel) + tf.matmul(h, self.recurrent_kernel) + self.bias
        z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
        i = tf.sigmoid(z_i + p[0] * c)
        f = tf.sigmoid(z_f + p[1] * c)
        c_new = f * c + i * tf.tanh(z_c)
        o = tf.sigmoid(z_o + p[2] * c_new)
        h_new = o * tf.tanh(c_new)
        return h_new, [h_new, c_new]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "peephole_scale": self.peephole_scale}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def peephole_reference(x, initial_state, weights):
    """The same cell in float64 NumPy: (sequence (batch, time, units), (h, c))."""
    h, c = (np.asarray(s, dtype=np.float64) for s in initial_state)
    w, r, b, p = weights["kernel"], weights["recurrent_kernel"], weights["bias"], weights["peephole"]
    outputs = []
    for t in range(x.shape[1]):
        z_i, z_f, z_c, z_o = np.split(x[:, t] @ w + h @ r + b, 4, axis=-1)
        i, f = _sigmoid(z_i + p[0] * c), _sigmoid(z_f + p[1] * c)
        c = f * c + i * np.tanh(z_c)
        h = _sigmoid(z_o + p[2] * c) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, axis=1), (h, c)
