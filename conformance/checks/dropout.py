"""``dropout``: training=True is reproducible from the same seed and program, and not the inference output.

What the kit cannot assert: which units are dropped (the masks come from Keras's RNG) or their rate.
training=False equalling no dropout is the agreement check's job: the main call is an inference call and
the oracle has no dropout.

Whether one input mask serves the whole sequence can be asserted: where the case's weights make each
step's output a function of that step's input alone and its inputs are the same at every step
(``expect.dropout_mask``), the training=True output is the same at every step exactly when the mask is
(keras#19993: Keras 2's fused LSTM and GRU drop the input sequence with a new mask at every step, their
cells and Keras 3 reuse one).

Where the mask goes can be asserted: dropout scales the inputs of the matmuls (x before the kernel, the
previous state before the recurrent kernel), never the state the cell carries on. A case whose weights
saturate the gates so the cell only carries its state (``expect.dropout_inert``) leaves no mask anything
to change, so there training=True must *equal* the inference output (keras#20276: Keras 3.0-3.7's GRU
dropped the carried state itself).
"""

from __future__ import annotations

import numpy as np

from conformance.checks.base import CheckResult, Context


def check(ctx: Context) -> CheckResult:
    r = CheckResult("dropout")
    found, tol = ctx.run.dropout, ctx.values_tol
    assert found is not None
    if r.raised(found.error):
        return r
    first, second = found.runs
    call = next((s for s in ctx.run.steps if s.startswith("keras.utils.set_random_seed")), "training=True")
    if not np.all(np.isfinite(first)):
        r.add("finite", f"training=True output has non-finite values [{call}]")
    if not np.array_equal(first, second, equal_nan=True):
        diff = np.abs(first - second)
        r.add(
            "reproducible",
            f"not reproducible: two training=True runs from set_random_seed({found.seed}) differ in "
            f"{int(np.count_nonzero(diff))} of {diff.size} elements (max {np.nanmax(diff):.3g}) [{call}]",
        )
    moved = float(np.max(np.abs(first - ctx.run.output), initial=0.0))
    if ctx.case.expect.dropout_inert:
        r.judge(
            first,
            ctx.run.output,
            tol,
            f"training=True output vs the inference output, where the case's weights leave dropout nothing "
            f"to act on (expect.dropout_inert: a mask reached the carried state) [{call}]",
            subject="inert",
        )
    elif moved <= tol.atol:
        r.add(
            "applied",
            f"training=True output equals the inference output (max difference {moved:.3g}): dropout "
            f"was not applied [{call}]",
        )
    if ctx.case.expect.dropout_mask:
        _mask_in_time(ctx, r, first, call)
    r.details = {"max_change_from_inference": moved}
    return r


def _mask_in_time(ctx: Context, r: CheckResult, training: np.ndarray, call: str) -> None:
    """expect.dropout_mask: the training output over inputs the same at every step, through weights
    that carry nothing from step to step, is the same at every step iff one mask serves the sequence."""
    tol, want = ctx.values_tol, ctx.case.expect.dropout_mask
    inference = np.asarray(ctx.run.output)
    premise = float(np.max(np.abs(inference - inference[:, :1]), initial=0.0))
    if premise > tol.atol:  # else the check would read the weights' memory as the mask's
        r.add(
            "stateless",
            f"cannot read the dropout mask: the inference output already varies in time (max "
            f"{premise:.3g} from step 0), so the case's weights carry state from step to step; "
            "expect.dropout_mask needs each step's output to depend on that step's input alone",
        )
        return
    first_step = np.broadcast_to(training[:, :1], training.shape)
    if want == "per_sequence":
        r.judge(
            training,
            first_step,
            tol,
            f"training=True output at each step vs at step 0, over inputs the same at every step (expect."
            f"dropout_mask = 'per_sequence': a step that differs drew a dropout mask of its own) [{call}]",
            subject="mask_in_time",
        )
        return
    varies = float(np.max(np.abs(training - first_step), initial=0.0))
    if varies <= tol.atol:
        r.add(
            "mask_in_time",
            f"training=True output is the same at every step (max difference {varies:.3g}) over inputs the "
            f"same at every step: one dropout mask served the whole sequence, where expect.dropout_mask = "
            f"'per_step' wants a new one each step [{call}]",
        )
