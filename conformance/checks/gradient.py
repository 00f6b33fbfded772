"""``gradient``: gradients of the item's loss w.r.t. the inputs, the initial state and every weight exist,
are finite, reach where the oracle's do, and match the oracle's BPTT.

The input gradient is judged per time step, each step against its own scale: on a long sequence the
oracle's gradient at the first steps can be 1e-30 of the last ones', so a whole-tensor tolerance would
accept a layer that truncates backpropagation. A step is judged relative to the oracle's largest value at
that step wherever that value is representable in the compute dtype with margin (at least
:data:`MARGIN` times its smallest normal number); below that, only an absolute comparison is meaningful.
"""

from __future__ import annotations

import numpy as np

from conformance.casefile.case import Tolerance
from conformance.checks.base import CheckResult, Context
from conformance.checks.compare import ranges
from conformance.run.data import DTYPE_ROLES

GRAD_CALL = "tape.gradient(loss, [x, *initial_state, *cell.trainable_weights])"
MARGIN = 1024.0
_TINY = {
    "float64": 2.2250738585072014e-308,
    "float32": 1.1754944e-38,
    "bfloat16": 1.1754944e-38,
    "float16": 6.1035e-05,
}


def floor(dtype: str) -> float:
    """The smallest per-step gradient scale judged relatively, for an item of ``dtype``."""
    return MARGIN * _TINY[DTYPE_ROLES[dtype][2]]


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
            r.add(name, f"{label} is None: no gradient flows from the loss to {name} [{GRAD_CALL}]")
            continue
        bad = ~np.isfinite(got)
        if bad.any():
            r.add(name, f"{label}: {int(bad.sum())} of {got.size} elements are not finite [{GRAD_CALL}]")
            continue
        if name == "inputs" and want is not None:
            reach(r, got, want, tol, ctx)
            continue
        if _missing(r, name, got, want, tol.atol):
            continue
        if want is not None:
            r.judge(got, want, tol, f"{label} vs oracle", subject=name, vs_reference=True, scale_atol=True)
    return r


def _bptt_order(ctx: Context, timesteps: int) -> list[int] | None:
    """Input steps in the order backpropagation reaches them (None: both directions at once)."""
    if ctx.case.structure.pair_outputs or ctx.case.structure.key == "bidirectional":
        return None
    forward = list(range(timesteps))
    return forward if ctx.case.options.go_backwards else forward[::-1]


def reach(r: CheckResult, got: np.ndarray, want: np.ndarray, tol: Tolerance, ctx: Context) -> None:
    """d loss / d inputs, step by step, each step against the oracle's own scale at that step."""
    t = got.shape[1]
    scale = np.max(np.abs(want), axis=(0, 2))  # the oracle's largest |gradient| at each step
    judged = scale >= floor(ctx.dtype)
    err = np.abs(got - want)
    # Judged steps: relative to the step's scale. Steps below the floor: absolute, as the whole tensor was.
    global_atol = tol.atol * max(1.0, float(scale.max(initial=0.0)))
    step_atol = np.where(judged, tol.atol * scale, global_atol)[None, :, None]
    allowed = step_atol + tol.rtol * np.abs(want)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(allowed > 0, err / np.where(allowed > 0, allowed, 1), np.where(err > 0, np.inf, 0))
    r.worst = max(r.worst, float(np.max(ratio, initial=0.0)))
    bad_steps = np.flatnonzero((err > allowed).any(axis=(0, 2)))
    if not bad_steps.size:
        return
    steps = tuple(int(s) for s in bad_steps)
    order = _bptt_order(ctx, t)
    first = steps[0] if order is None else next(s for s in order if s in steps)
    g_max = float(np.max(np.abs(got[:, first, :])))
    got_text = "is zero" if g_max == 0 else f"max |got| {g_max:.3g}"
    w = want[:, first, :]
    at = np.unravel_index(int(np.argmax(err[:, first, :] - allowed[:, first, :])), w.shape)
    lines = []
    if order is not None:
        agreed = order[: order.index(first)]
        head = (
            f"agrees from step {order[0]} back to step {agreed[-1]} (of {t}, in the order backpropagation "
            f"reaches them), then differs from step {first}"
            if agreed
            else f"differs from step {first}, the first backpropagation reaches (of {t})"
        )
        lines.append(
            f"d loss / d inputs per time step vs oracle: {head}: {got_text} where the oracle's max "
            f"|gradient| is {scale[first]:.3g}"
        )
    else:
        lines.append(
            f"d loss / d inputs per time step vs oracle: step {first} {got_text} where the oracle's max "
            f"|gradient| is {scale[first]:.3g}"
        )
    lines += [
        f"  differing steps: {ranges(steps)} ({len(steps)} of {t}); at step {first}, element "
        f"{tuple(int(i) for i in at)}: got {got[:, first, :][at]:.7g}, expected {w[at]:.7g}",
        f"  tolerance per step: {tol.atol:g} × the oracle's max |gradient| at that step + rtol {tol.rtol:g}; "
        f"steps whose oracle gradient is below {floor(ctx.dtype):.3g} (not representable in "
        f"{DTYPE_ROLES[ctx.dtype][2]} with margin: {int((~judged).sum())} of {t}) are held to atol "
        f"{global_atol:.3g}",
        f"  largest error / tolerance: {r.worst:.3g} [{GRAD_CALL}]",
    ]
    r.add("inputs", "\n".join(lines), steps=steps, vs_reference=True)


def _missing(r: CheckResult, name: str, got: np.ndarray, want: np.ndarray | None, atol: float) -> bool:
    """Non-zero where the math says so. With an oracle, only where its gradient exceeds the absolute
    tolerance (below it, zero is within tolerance); without one (a custom cell), everywhere (per time step
    for inputs): a recurrent cell's gradients reach every input."""
    axes = tuple(i for i in range(got.ndim) if i != 1) if name == "inputs" else None
    got_nz = np.max(np.abs(got), axis=axes) > 0
    if want is None:
        want_nz = np.ones_like(got_nz, dtype=bool)
    else:
        floor_ = atol * max(1.0, float(np.max(np.abs(want), initial=0.0)))
        want_nz = np.max(np.abs(want), axis=axes) > floor_
    missing = np.atleast_1d(want_nz & ~got_nz)
    if not missing.any():
        return False
    steps = tuple(int(s) for s in np.flatnonzero(missing)) if name == "inputs" else None
    where = f"at time steps {list(steps or ())[:10]}" if name == "inputs" else "everywhere"
    whose = "the oracle's is not" if want is not None else "a recurrent cell's cannot be"
    r.add(
        name, f"d loss / d {name} is zero {where} where {whose}: the gradient does not reach it", steps=steps
    )
    return True
