"""Independent float64 NumPy reference ("oracle") for Keras' LSTM, GRU and SimpleRNN layers.

Written from the documented Keras formulas and the Keras source's semantics, sharing no code with
TensorFlow, so that a disagreement points at the implementation under test rather than at a common bug.
Each family module exposes the same interface: ``STATE_NAMES``, ``WEIGHT_NAMES``, ``OPTIONS``,
``weight_shapes``, ``forward`` (a :class:`Trace`) and ``gradients`` (analytic BPTT, a :class:`Gradients`).
Masking and ``go_backwards`` semantics are documented in :mod:`conformance.oracle.scan`.
"""

from __future__ import annotations

from conformance.oracle import gru, lstm, simple_rnn
from conformance.oracle.types import Gradients, Oracle, Trace

#: The family modules by name; each satisfies :class:`~conformance.oracle.types.Oracle`.
ORACLES: dict[str, Oracle] = {"lstm": lstm, "gru": gru, "simple_rnn": simple_rnn}

__all__ = ["ORACLES", "Gradients", "Oracle", "Trace", "gru", "lstm", "simple_rnn"]
