"""``predict``: in a model context, ``model.predict`` returns the oracle's output and final states (the
main call, ``model(x)``, is held to them by ``agreement``)."""

from __future__ import annotations

from conformance.checks.base import CheckResult, Context


def check(ctx: Context) -> CheckResult:
    r = CheckResult("predict")
    model, ref, tol = ctx.run.model, ctx.ref, ctx.values_tol
    if model is None:
        r.not_applicable = "the layer is called alone (context 'call')"
        return r
    if r.raised(model.errors.get("predict")):
        return r
    if ref is None or model.predicted is None:
        r.not_applicable = "no reference to compare model.predict with"
        return r
    output, states = model.predicted
    call = next((s for s in ctx.run.steps if s.startswith("model.predict(")), "model.predict")
    r.judge(
        output, ref.output(), tol, f"output of {call} vs {ref.label}", subject="output", vs_reference=True
    )
    for name, got, want in zip(ctx.run.family.state_names, states, ref.main.states):
        r.judge(
            got,
            want,
            tol,
            f"final {name} of {call} vs {ref.label}",
            subject=f"state.{name}",
            vs_reference=True,
        )
    return r
