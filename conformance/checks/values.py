"""``values``: numbers pinned in the case file (computed by hand, or published)."""

from __future__ import annotations

from conformance.checks.base import CheckResult, Context


def check(ctx: Context) -> CheckResult:
    r = CheckResult("values")
    expect, run = ctx.case.expect, ctx.run
    tol = expect.pinned_tolerance
    if expect.output is not None:
        r.judge(run.output, expect.output, tol, f"output of {ctx.call} vs expect.output", subject="output")
    if expect.states is not None:
        if run.states is not None:
            states = run.states
        elif run.probes.as_case is not None:
            states = run.probes.as_case[1]
        else:  # the extra call that reads them raised
            r.raised(run.probes.error, "probe")
            return r
        for name, got, want in zip(run.family.state_names, states, expect.states):
            r.judge(got, want, tol, f"final {name} vs expect.states", subject=f"state.{name}")
    return r
