"""``agreement``: output and returned final states match the float64 oracle within the dtype's tolerance."""

from __future__ import annotations

from conformance.checks.base import CheckResult, Context


def check(ctx: Context) -> CheckResult:
    r = CheckResult("agreement")
    run, ref, tol = ctx.run, ctx.ref, ctx.values_tol
    if ref is None:
        r.not_applicable = "a custom cell without a reference function: the manual loop is the reference"
        return r
    r.judge(
        run.output,
        ref.output(),
        tol,
        f"output of {ctx.call} vs {ref.label}",
        subject="output",
        vs_reference=True,
    )
    for name, got, want in zip(run.family.state_names, run.states or [], ref.main.states):
        r.judge(
            got,
            want,
            tol,
            f"final {name} of {ctx.call} vs {ref.label}",
            subject=f"state.{name}",
            vs_reference=True,
        )
    return r
