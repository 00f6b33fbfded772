"""``symbolic``: in a model context, the model's symbolic output shapes (batch and time left ``None``)
equal the layer's ``compute_output_shape`` for that input, and the shapes the eager call returned."""

from __future__ import annotations

from conformance.checks.base import CheckResult, Context


def _fits(symbolic: tuple[int | None, ...], concrete: tuple[int, ...]) -> bool:
    return len(symbolic) == len(concrete) and all(s is None or s == c for s, c in zip(symbolic, concrete))


def _names(ctx: Context, n: int) -> list[str]:
    outputs = ["output.forward", "output.backward"] if ctx.case.structure.pair_outputs else ["output"]
    states = [f"state.{s}" for s in ctx.run.family.state_names] if ctx.case.options.return_state else []
    names = [*outputs, *states]
    return names if len(names) == n else [f"output[{i}]" for i in range(n)]


def check(ctx: Context) -> CheckResult:
    r = CheckResult("symbolic")
    model = ctx.run.model
    if model is None:
        r.not_applicable = "the layer is called alone (context 'call')"
        return r
    if r.raised(model.errors.get("symbolic")):
        return r
    symbolic, eager = model.symbolic or [], [a.shape for a in ctx.run.main.arrays]
    computed = model.computed if model.computed is not None else symbolic  # the manual loop's layer: none
    if len(symbolic) != len(eager) or len(computed) != len(eager):
        r.add(
            "returned",
            f"the model's symbolic outputs {symbolic}, compute_output_shape {computed} and the eager call's "
            f"{eager} differ in number [{ctx.call}]",
        )
        return r
    for name, sym, comp, got in zip(_names(ctx, len(eager)), symbolic, computed, eager):
        subject = name if not name.startswith("output[") else "output"
        if tuple(sym) != tuple(comp):
            r.add(subject, f"{name}: symbolic shape {sym}, but layer.compute_output_shape says {comp}")
        if not _fits(sym, got):
            r.add(subject, f"{name}: symbolic shape {sym}, but the eager call returned {got} [{ctx.call}]")
    return r
