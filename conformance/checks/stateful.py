"""``stateful``: a stateful layer carries its state across calls, reset_states() returns it to zeros, and
another batch size is refused."""

from __future__ import annotations

import numpy as np

from conformance.checks.base import CheckResult, Context


def check(ctx: Context) -> CheckResult:
    r = CheckResult("stateful")
    found, ref, tol, case = ctx.run.stateful, ctx.ref, ctx.values_tol, ctx.case
    assert found is not None
    if r.raised(found.error):
        return r
    fam = ctx.run.family
    for name, a in zip(fam.state_names, found.reset):
        if np.any(a != 0):
            r.add(f"reset.state.{name}", f"after layer.reset_states(), layer.states[{name}] is not all zeros")
    if found.other_batch is None:
        r.add(
            "other_batch",
            f"a stateful layer holding {case.batch} rows accepted a batch of {case.batch + 1}: Keras's rule "
            "(the batch size of a stateful layer is fixed) was not enforced",
        )
    if ref is None:
        r.not_applicable = "no reference to compare the carried run with"
        return r
    expected = ref.trace(ctx.run.data.zero_state()) or ref.main
    masked = case.mask is not None
    chunks = found.chunks
    if case.options.return_sequences and not masked:
        r.judge(
            np.concatenate(chunks, axis=1),
            expected.sequence,
            tol,
            f"outputs of {len(chunks)} calls on a stateful layer (state carried by the layer) vs {ref.label} "
            "over the whole sequence from zeros",
            subject="carried.output",
            vs_reference=True,
        )
    elif not masked:  # with a mask, the last output of a call depends on where its chunk starts
        r.judge(
            chunks[-1],
            expected.sequence[:, -1],
            tol,
            f"last output of the second call vs {ref.label}",
            subject="carried.output",
            vs_reference=True,
        )
    for name, a, b in zip(fam.state_names, found.carried, expected.states):
        what = f"layer.states[{name}] after {len(chunks)} stateful calls vs {ref.label}"
        r.judge(a, b, tol, what, subject=f"carried.state.{name}", vs_reference=True)
    assert found.again is not None
    what = f"output after reset_states() vs {ref.label} from zeros"
    r.judge(found.again, ref.output(expected), tol, what, subject="again.output", vs_reference=True)
    for name, a, b in zip(fam.state_names, found.again_states, expected.states):
        what = f"layer.states[{name}] after reset_states() and one call vs {ref.label}"
        r.judge(a, b, tol, what, subject=f"again.state.{name}", vs_reference=True)
    return r
