"""The time loop shared by every family: input checks, options, masking, ``go_backwards`` and BPTT.

Written once so that the three families differ only in their single-step cell. The semantics follow the
generic (non-cuDNN) path of Keras' TensorFlow backend, ``keras/src/backend/tensorflow/rnn.py`` ``rnn()``
(keras-team/keras; ``tf_keras/backend.py`` ``rnn()`` in keras-team/tf-keras is the same):

* ``go_backwards``: the inputs *and the mask* are reversed along time (``tf.reverse(input_, [0])``,
  ``tf.reverse(mask, [0])``) and the outputs are stacked in processing order. Neither ``rnn()`` nor
  ``RNN.call`` (``keras/src/layers/rnn/rnn.py``: ``output = outputs if self.return_sequences else
  last_output``) reverses them back, so the returned sequence is reversed relative to input time and
  ``return_sequences=False`` yields the output of the step that processed input time 0.
* mask ``(batch, time)``, True = use the step. At a masked step every state keeps its previous value
  (``tf.where(mask_t, new_state, state)``) and the output is ``tf.where(mask_t, output, prev_output)``
  where ``prev_output`` is the previous step's *already masked* output, and zeros before the first step
  ("Mask for the T output will be base on the output of T - 1. In the case T = 0, a zero filled tensor
  will be used."). With ``zero_output_for_mask=True`` the masked output is zeros instead. Hence the
  ``return_sequences=False`` output of a row is the output of its last unmasked step, or zeros if the row
  is fully masked, while the final states of a fully masked row are its initial states.

Not modelled, on purpose: the cuDNN path (``_cudnn_lstm``/``_cudnn_gru`` in the same file, taken on GPU
with default activations and ``use_bias``) accepts only right-padded masks with no fully masked row and
writes *zeros* at the masked (trailing) steps of the returned sequence, as its own comment says ("the cudnn
kernel will fill zeros for the output, whereas the default keras behavior is to bring over the previous
output"), while its last output and final states still follow the rules above. Read from the source, not
run: a kit comparing a cuDNN layer's masked ``return_sequences`` output with this oracle should expect
``zero_output_for_mask=True`` values there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance.oracle.activations import activation
from conformance.oracle.types import Array, Cell, Gradients, States, Trace

#: Options every family accepts, with the Keras defaults.
COMMON_OPTIONS: Mapping[str, Any] = {"use_bias": True, "go_backwards": False, "zero_output_for_mask": False}
_BOOL_OPTIONS = ("use_bias", "go_backwards", "zero_output_for_mask", "reset_after")

ShapesFn = Callable[[int, int], dict[str, tuple[int, ...]]]


def resolve_options(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``given`` over ``defaults``; an option the family does not know is a TypeError, never ignored.

    Silently ignoring, say, ``reset_after`` passed to an LSTM would let a misconfigured case pass.
    """
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; accepted: {sorted(defaults)}")
    opts = {**defaults, **given}
    for name in _BOOL_OPTIONS:
        if name in opts and not isinstance(opts[name], (bool, np.bool_)):
            raise TypeError(f"option {name!r} must be a bool, got {opts[name]!r}")
    return opts


def activation_pair(name: str | None) -> tuple[Callable[[Array], Array], Callable[[Array], Array]]:
    """``(f, df)`` for a Keras activation name; ``None`` means linear, as Keras documents."""
    return activation("linear" if name is None else name)


def _float64(value: Any, what: str, ndim: int) -> Array:
    arr = np.asarray(value)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{what} must be real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{what} must be {ndim}-D, got shape {arr.shape}")
    return arr


def check_inputs(
    x: Any,
    initial_state: tuple[Any, ...],
    weights: Mapping[str, Any],
    mask: Any,
    *,
    state_names: tuple[str, ...],
    shapes: ShapesFn,
) -> tuple[Array, States, dict[str, Array], Array | None]:
    """Convert everything to float64 (mask to bool) and check shapes, so a wrong case fails loudly here."""
    xa = _float64(x, "x", 3)
    batch, time, features = xa.shape
    if time < 1:
        raise ValueError("x needs at least one time step (Keras reads step 0 to size its outputs)")
    if not isinstance(initial_state, (tuple, list)) or len(initial_state) != len(state_names):
        raise ValueError(f"initial_state must be a tuple of {len(state_names)} arrays {state_names}")
    states = tuple(
        _float64(s, f"initial state {n!r}", 2) for s, n in zip(initial_state, state_names, strict=True)
    )
    units = states[0].shape[1]
    for s, n in zip(states, state_names, strict=True):
        if s.shape != (batch, units):
            raise ValueError(f"initial state {n!r} must have shape {(batch, units)}, got {s.shape}")
    expected = shapes(features, units)
    if set(weights) != set(expected):
        raise ValueError(f"weights must have exactly the keys {sorted(expected)}, got {sorted(weights)}")
    w = {}
    for name, shape in expected.items():
        w[name] = _float64(weights[name], f"weight {name!r}", len(shape))
        if w[name].shape != shape:
            raise ValueError(f"weight {name!r} must have shape {shape}, got {w[name].shape}")
    m = None
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != (batch, time):
            raise ValueError(f"mask must have shape {(batch, time)}, got {m.shape}")
        m = m.astype(bool)
    return xa, states, w, m


def _processing_order(time: int, go_backwards: bool) -> list[int]:
    """Input time index handled at each processing step."""
    return list(range(time - 1, -1, -1)) if go_backwards else list(range(time))


def run_forward(
    cell: Cell,
    x: Array,
    initial_state: States,
    weights: Mapping[str, Array],
    mask: Array | None,
    *,
    go_backwards: bool,
    zero_output_for_mask: bool,
) -> tuple[Trace, list[Any]]:
    """Scan ``cell`` over time with Keras masking; return the trace and the per-step caches for BPTT."""
    time = x.shape[1]
    states = initial_state
    outputs: list[Array] = []
    caches: list[Any] = []
    prev_output: Array | None = None
    for t in _processing_order(time, go_backwards):
        out, new_states, cache = cell.step(x[:, t, :], states, weights)
        caches.append(cache)
        if mask is None:
            states = new_states
        else:
            m = mask[:, t][:, None]
            # Before the first step Keras' "previous output" is zeros.
            fallback = np.zeros_like(out) if zero_output_for_mask or prev_output is None else prev_output
            out = np.where(m, out, fallback)
            states = tuple(np.where(m, new, old) for new, old in zip(new_states, states, strict=True))
        outputs.append(out)
        prev_output = out
    return Trace(sequence=np.stack(outputs, axis=1), states=tuple(states)), caches


def run_backward(
    cell: Cell,
    caches: list[Any],
    x: Array,
    weights: Mapping[str, Array],
    mask: Array | None,
    *,
    cot_sequence: Array,
    cot_states: States,
    go_backwards: bool,
    zero_output_for_mask: bool,
) -> Gradients:
    """Reverse-mode through the scan: the adjoint of :func:`run_forward`, step by step in reverse."""
    time = x.shape[1]
    dx = np.zeros_like(x)
    d_weights = {name: np.zeros_like(w) for name, w in weights.items()}
    d_states = tuple(np.array(c, dtype=np.float64) for c in cot_states)
    d_prev_output = np.zeros_like(cot_sequence[:, 0, :])  # adjoint of the carried (masked) output
    order = _processing_order(time, go_backwards)
    for k in range(time - 1, -1, -1):
        t = order[k]
        d_masked_out = cot_sequence[:, k, :] + d_prev_output
        if mask is None:
            d_out, d_new_states, d_carried = d_masked_out, d_states, None
            d_prev_output = np.zeros_like(d_masked_out)
        else:
            m = mask[:, t][:, None]
            d_out = np.where(m, d_masked_out, 0.0)
            # out_k = where(m, out, prev): the masked rows' adjoint flows to the previous step's output,
            # unless the fallback was the constant zero.
            if zero_output_for_mask:
                d_prev_output = np.zeros_like(d_masked_out)
            else:
                d_prev_output = np.where(m, 0.0, d_masked_out)
            d_new_states = tuple(np.where(m, d, 0.0) for d in d_states)
            d_carried = tuple(np.where(m, 0.0, d) for d in d_states)
        dx_t, d_prev_states, dw = cell.step_backward(caches[k], d_out, d_new_states)
        dx[:, t, :] = dx_t
        for name, g in dw.items():
            d_weights[name] += g
        if d_carried is not None:
            d_prev_states = tuple(a + b for a, b in zip(d_prev_states, d_carried, strict=True))
        d_states = d_prev_states
    # d_prev_output now belongs to the constant zeros used before step 0: it has no input to flow to.
    return Gradients(inputs=dx, initial_state=tuple(d_states), weights=d_weights)


def check_cotangents(
    cot_sequence: Any, cot_states: tuple[Any, ...], trace: Trace, state_names: tuple[str, ...]
) -> tuple[Array, States]:
    """Float64 cotangents with the shapes of the trace they weigh."""
    cs = _float64(cot_sequence, "cot_sequence", 3)
    if cs.shape != trace.sequence.shape:
        raise ValueError(f"cot_sequence must have shape {trace.sequence.shape}, got {cs.shape}")
    if not isinstance(cot_states, (tuple, list)) or len(cot_states) != len(state_names):
        raise ValueError(f"cot_states must be a tuple of {len(state_names)} arrays {state_names}")
    cst = tuple(_float64(c, f"cot_states {n!r}", 2) for c, n in zip(cot_states, state_names, strict=True))
    for c, s, n in zip(cst, trace.states, state_names, strict=True):
        if c.shape != s.shape:
            raise ValueError(f"cot_states {n!r} must have shape {s.shape}, got {c.shape}")
    return cs, cst


@dataclass(frozen=True)
class Family:
    """A family's options, shapes and cell, plus the public entry points built on the shared scan.

    Family modules expose module-level functions that delegate here, so validation, options and BPTT
    bookkeeping exist once.
    """

    state_names: tuple[str, ...]
    defaults: Mapping[str, Any]
    shapes: Callable[[int, int, Mapping[str, Any]], dict[str, tuple[int, ...]]]
    make_cell: Callable[[Mapping[str, Any]], Cell]

    def weight_shapes(self, features: int, units: int, **options: Any) -> dict[str, tuple[int, ...]]:
        """Keras weight shapes for these options, keyed by Keras weight name in Keras order."""
        return self.shapes(features, units, resolve_options(self.defaults, options))

    def _run(
        self,
        x: Any,
        initial_state: tuple[Any, ...],
        weights: Mapping[str, Any],
        mask: Any,
        options: Mapping[str, Any],
    ) -> tuple[Trace, Cell, list[Any], tuple[Array, States, dict[str, Array], Array | None], dict[str, Any]]:
        opts = resolve_options(self.defaults, options)
        checked = check_inputs(
            x,
            initial_state,
            weights,
            mask,
            state_names=self.state_names,
            shapes=lambda f, u: self.shapes(f, u, opts),
        )
        cell = self.make_cell(opts)
        xa, states, w, m = checked
        trace, caches = run_forward(
            cell,
            xa,
            states,
            w,
            m,
            go_backwards=opts["go_backwards"],
            zero_output_for_mask=opts["zero_output_for_mask"],
        )
        return trace, cell, caches, checked, opts

    def forward(
        self,
        x: Any,
        initial_state: tuple[Any, ...],
        weights: Mapping[str, Any],
        *,
        mask: Any = None,
        **options: Any,
    ) -> Trace:
        """Run the layer over ``x``; see the module docstring for masking and ``go_backwards``."""
        return self._run(x, initial_state, weights, mask, options)[0]

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
    ) -> Gradients:
        """Forward, then BPTT with the given cotangents; result weight keys follow the caller's order."""
        trace, cell, caches, (xa, _, w, m), opts = self._run(x, initial_state, weights, mask, options)
        cs, cst = check_cotangents(cot_sequence, cot_states, trace, self.state_names)
        grads = run_backward(
            cell,
            caches,
            xa,
            w,
            m,
            cot_sequence=cs,
            cot_states=cst,
            go_backwards=opts["go_backwards"],
            zero_output_for_mask=opts["zero_output_for_mask"],
        )
        return Gradients(
            inputs=grads.inputs,
            initial_state=grads.initial_state,
            weights={name: grads.weights[name] for name in weights},
        )
