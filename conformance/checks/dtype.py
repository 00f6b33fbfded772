"""``dtype``: outputs and states in the compute dtype, variables in the variable dtype, and what
get_initial_state returned in the compute dtype (mixed_float16: float16 / float32)."""

from __future__ import annotations

from conformance.checks.base import CheckResult, Context
from conformance.run.data import DTYPE_ROLES


def check(ctx: Context) -> CheckResult:
    r = CheckResult("dtype")
    _feed, variable, compute = DTYPE_ROLES[ctx.dtype]
    run, fam = ctx.run, ctx.run.family
    loop = run.path == "manual_loop"
    outputs = (
        ["forward output", "backward output"] if ctx.case.structure.pair_outputs and not loop else ["output"]
    )
    subjects = ["output.forward", "output.backward"] if len(outputs) == 2 else ["output"]
    states = [*fam.state_names] if loop or ctx.case.options.return_state else []
    names = [*outputs, *states]
    for name, subject, got in zip(names, [*subjects, *(f"state.{n}" for n in states)], run.main.dtypes):
        if got != compute:
            r.add(
                subject, f"{name}.dtype={got}, expected {compute} (compute dtype of {ctx.dtype}) [{ctx.call}]"
            )
    for name, got in run.variables.items():
        if got != variable:
            r.add(
                f"variable.{name}",
                f"cell.{name}.dtype={got}, expected {variable} (variable dtype of {ctx.dtype})",
            )
    if run.initial_state is not None:
        call = next((s for s in run.steps if ".get_initial_state(" in s), "get_initial_state")
        for name, got in zip(fam.state_names, run.initial_state.dtypes):
            if got != compute:
                r.add(
                    f"get_initial_state.{name}",
                    f"get_initial_state()[{name}].dtype={got}, expected {compute} [{call}]",
                )
    return r
