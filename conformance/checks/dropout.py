"""``dropout``: training=True is reproducible from the same seed and program, and not the inference output.

What the kit cannot assert: which units are dropped (the masks come from Keras's RNG), their rate, or
that the same mask is reused at every step. training=False equalling no dropout is the agreement
check's job: the main call is an inference call and the oracle has no dropout.

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
    r.details = {"max_change_from_inference": moved}
    return r
