"""Known alternative behaviours a divergence can say a layer follows (``instead``), registered in
:data:`conformance.registry.ALTERNATIVES`: each builds the reference the findings the divergence names
must agree with, from the case's own oracle.

They make a declared divergence a checked statement rather than an excuse: "Keras 3 drops the mask" is
held to the oracle run without the mask, step for step, gradients included.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from conformance.casefile.case import Case
from conformance.checks.reference import Reference
from conformance.families.base import Family
from conformance.oracle.types import Gradients, Trace
from conformance.run.data import CaseData


def mask_dropped(case: Case, data: CaseData, fam: Family) -> Reference:
    """The layer ignores the mask: every step is processed (masked steps hold the inputs the layer got).

    A ``keras.layers.Masking`` layer in front still multiplies its inputs by the mask, so the gradient
    reaching the inputs at masked steps is zero: that part of the mask survives."""
    base = Reference.for_item(case, replace(data, mask=None), fam)
    assert base is not None
    if data.mask is None or case.mask is None or case.mask.via != "masking_layer":
        base.label = "oracle without the mask ('mask_dropped')"
        return base
    keep = data.mask[:, :, None]

    def gradients() -> Gradients:
        g = base.gradients
        assert g is not None
        return Gradients(np.where(keep, g.inputs, 0.0), g.initial_state, g.weights)

    def forward(state: tuple[np.ndarray, ...]) -> Trace:
        trace = base.trace(state)
        assert trace is not None
        return trace

    return Reference(case, data, "oracle without the mask ('mask_dropped')", forward, gradients)


def zero_output_in_input_order(case: Case, data: CaseData, fam: Family) -> Reference:
    """zero_output_for_mask with go_backwards, applied with the mask in input order: the returned sequence
    is the carried-output sequence (in processing order), zeroed where the *input-order* mask is False; the
    last output and the final states are the correct ones (Keras ``backend.rnn(unroll=True)``)."""
    assert data.mask is not None
    keep_in = data.mask  # input order, applied to processing-order positions
    keep_proc = data.mask[:, ::-1] if case.options.go_backwards else data.mask
    carried = replace(case, options=replace(case.options, zero_output_for_mask=False))
    if case.options.return_sequences:  # the loss sees the carried sequence only where it is kept
        cot = data.cot_output * keep_in[:, :, None]
    else:
        cot = data.cot_output * keep_proc[:, -1:]
    base = Reference.for_item(carried, replace(data, cot_output=cot), fam)
    assert base is not None

    def forward(state: tuple[np.ndarray, ...]) -> Trace:
        trace = base.trace(state)
        assert trace is not None
        sequence = np.where(keep_in[:, :, None], trace.sequence, 0.0)
        last = np.where(keep_proc[:, -1:], trace.sequence[:, -1], 0.0)
        return Trace(sequence, trace.states, last=last)

    def gradients() -> Gradients:
        assert base.gradients is not None
        return base.gradients

    label = "oracle zeroing in input order ('zero_output_in_input_order')"
    return Reference(case, data, label, forward, gradients)
