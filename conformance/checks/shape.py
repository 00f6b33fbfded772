"""``shape``: the structure and shapes of what the call returned (and, for the manual loop, of what one
cell step returned as its states)."""

from __future__ import annotations

from conformance.checks.base import CheckResult, Context


def check(ctx: Context) -> CheckResult:
    r = CheckResult("shape")
    case, run = ctx.case, ctx.run
    fam = run.family
    b, t = case.batch, case.timesteps
    u = fam.output_units or case.units
    out_shape = (b, t, u) if case.options.return_sequences else (b, u)
    state_shapes = fam.state_shapes(b, case.units)
    if run.path == "manual_loop":
        _loop(ctx, r, out_shape, state_shapes)
    elif case.structure.pair_outputs:
        _pair(ctx, r, out_shape, state_shapes)
    else:
        _layer(ctx, r, out_shape, state_shapes)
    return r


def _loop(
    ctx: Context, r: CheckResult, out_shape: tuple[int, ...], state_shapes: list[tuple[int, int]]
) -> None:
    run = ctx.run
    got = run.output.shape
    if got != out_shape:
        r.add("output", f"stacked loop output.shape={got}, expected {out_shape} [{ctx.call}]")
    step = run.cell_step
    if step is None:
        return
    shapes = [a.shape for a in step.arrays]
    want = ctx.case.structure.step_state_shapes(state_shapes)
    if step.container == "tensor" or shapes != want:
        r.add(
            "cell_step",
            f"cell(x_t, states) returned new states as {step.container} of shapes {shapes}, "
            f"expected a list/tuple of {len(want)} arrays of shapes {want}",
        )


def _pair(
    ctx: Context, r: CheckResult, out_shape: tuple[int, ...], state_shapes: list[tuple[int, int]]
) -> None:
    """merge_mode=None: a list of the two directions' outputs, each of half the kit's view, then states."""
    fam, main = ctx.run.family, ctx.run.main
    outputs = ["forward output", "backward output"]
    n_expected = len(outputs) + (fam.n_states if ctx.case.options.return_state else 0)
    half = (*out_shape[:-1], out_shape[-1] // 2)
    if main.container == "tensor" or len(main.arrays) != n_expected:
        r.add(
            "returned",
            f"{ctx.call} returned {main.container} of {len(main.arrays)} item(s), expected a list of "
            f"{n_expected} ({', '.join([*outputs, *fam.state_names][:n_expected])}) for merge_mode=None",
        )
        return
    subjects = ["output.forward", "output.backward", *(f"state.{n}" for n in fam.state_names)]
    for name, subject, array, expected in zip(
        [*outputs, *fam.state_names], subjects, main.arrays, [half, half, *state_shapes]
    ):
        if array.shape != expected:
            r.add(subject, f"{name}.shape={array.shape}, expected {expected} [{ctx.call}]")


def _layer(
    ctx: Context, r: CheckResult, out_shape: tuple[int, ...], state_shapes: list[tuple[int, int]]
) -> None:
    fam, main, opts = ctx.run.family, ctx.run.main, ctx.case.options
    n_expected = 1 + (fam.n_states if opts.return_state else 0)
    if opts.return_state and (main.container == "tensor" or len(main.arrays) != n_expected):
        r.add(
            "returned",
            f"{ctx.call} returned {main.container} of {len(main.arrays)} item(s), expected a "
            f"list/tuple of {n_expected} (output, {', '.join(fam.state_names)}) for return_state=True",
        )
        return
    if not opts.return_state and main.container != "tensor":
        r.add(
            "returned", f"{ctx.call} returned a {main.container}, expected one tensor for return_state=False"
        )
        return
    wants: list[tuple[int, ...]] = [out_shape, *state_shapes]
    for name, array, expected in zip(["output", *fam.state_names], main.arrays, wants):
        if array.shape != expected:
            subject = "output" if name == "output" else f"state.{name}"
            r.add(subject, f"{name}.shape={array.shape}, expected {expected} [{ctx.call}]")
