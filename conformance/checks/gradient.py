"""``gradient``: gradients of the item's loss w.r.t. the inputs, the initial state and every weight exist,
are finite, reach where the oracle's do, and match the oracle's BPTT."""

from __future__ import annotations

import numpy as np

from conformance.checks.base import CheckResult, Context

GRAD_CALL = "tape.gradient(loss, [x, *initial_state, *cell.trainable_weights])"


def check(ctx: Context) -> CheckResult:
    r = CheckResult("gradient")
    run, tol = ctx.run, ctx.grads_tol
    if not run.grads:
        r.not_applicable = "the call returned tensors of the wrong shape (see shape): no loss to take"
        return r
    oracle = ctx.ref.gradients if ctx.ref is not None else None
    expected: dict[str, np.ndarray | None] = {name: None for name in run.grads}
    if oracle is not None:
        expected.update(
            inputs=oracle.inputs,
            **{f"state.{n}": g for n, g in zip(ctx.run.family.state_names, oracle.initial_state)},
            **oracle.weights,
        )
    for name, got in run.grads.items():
        want = expected[name]
        label = f"d loss / d {name}"
        if got is None:
            r.problems.append(f"{label} is None: no gradient flows from the loss to {name} [{GRAD_CALL}]")
            continue
        bad = ~np.isfinite(got)
        if bad.any():
            r.problems.append(
                f"{label}: {int(bad.sum())} of {got.size} elements are not finite [{GRAD_CALL}]"
            )
            continue
        if _missing(r, name, got, want, tol.atol):
            continue
        if want is not None:
            r.judge(got, want, tol, f"{label} vs oracle", scale_atol=True)
    return r


def _missing(r: CheckResult, name: str, got: np.ndarray, want: np.ndarray | None, atol: float) -> bool:
    """Non-zero where the math says so: per time step for inputs, per tensor otherwise. With an oracle, only
    where its gradient exceeds the absolute tolerance (below it, zero is within tolerance); without one (a
    custom cell), everywhere: a recurrent cell's gradients reach every input."""
    axes = tuple(i for i in range(got.ndim) if i != 1) if name == "inputs" else None
    got_nz = np.max(np.abs(got), axis=axes) > 0
    if want is None:
        want_nz = np.ones_like(got_nz, dtype=bool)
    else:
        floor = atol * max(1.0, float(np.max(np.abs(want), initial=0.0)))
        want_nz = np.max(np.abs(want), axis=axes) > floor
    missing = np.atleast_1d(want_nz & ~got_nz)
    if not missing.any():
        return False
    where = f"at time steps {np.flatnonzero(missing)[:10].tolist()}" if name == "inputs" else "everywhere"
    whose = "the oracle's is not" if want is not None else "a recurrent cell's cannot be"
    r.problems.append(f"d loss / d {name} is zero {where} where {whose}: the gradient does not reach it")
    return True
