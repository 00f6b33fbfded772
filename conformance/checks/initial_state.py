"""``initial_state``: get_initial_state returns zeros of the documented structure; no state equals explicit
zeros; a custom state is honoured and matches the oracle; two chunks carrying the state equal one run."""

from __future__ import annotations

import numpy as np

from conformance.checks.base import CheckResult, Context


def check(ctx: Context) -> CheckResult:
    r = CheckResult("initial_state")
    if ctx.run.initial_state is not None:
        _get_initial_state(ctx, r)
    probes = ctx.run.probes
    if probes.custom is None and probes.error is None:
        r.not_applicable = "no probes were run"
        return r
    if r.raised(probes.error, "probe"):
        return r
    _none_is_zeros(ctx, r)
    _custom_is_honoured(ctx, r)
    _chunks_carry(ctx, r)
    _own_layer(ctx, r)
    return r


def _get_initial_state(ctx: Context, r: CheckResult) -> None:
    """get_initial_state as spelled: the documented structure of zeros."""
    run, case, fam = ctx.run, ctx.case, ctx.run.family
    got = run.initial_state
    assert got is not None
    call = next((s for s in run.steps if ".get_initial_state(" in s), "get_initial_state")
    shapes = [a.shape for a in got.arrays]
    want = fam.state_shapes(case.batch, case.units)
    if (got.container == "tensor" and fam.n_states > 1) or shapes != want:
        r.add(
            "get_initial_state",
            f"{call} returned {got.container} of shapes {shapes}, expected a list of "
            f"{fam.n_states} zero arrays of shapes {want} ({', '.join(fam.state_names)})",
        )
        return
    for name, a in zip(fam.state_names, got.arrays):
        if np.any(a != 0):
            r.add(
                "get_initial_state",
                f"{call}[{name}] is not all zeros: {int(np.count_nonzero(a))} of {a.size} "
                f"non-zero, max |value| {np.max(np.abs(a)):.4g}",
            )


def _none_is_zeros(ctx: Context, r: CheckResult) -> None:
    probes, tol = ctx.run.probes, ctx.values_tol
    if probes.none is None or probes.zeros is None:
        return  # the manual loop has no "no state"
    (none_seq, none_states), (zero_seq, zero_states) = probes.none, probes.zeros
    what = "with no initial_state vs with explicit zeros"
    r.judge(none_seq, zero_seq, tol, f"output sequence {what}", subject="none_vs_zeros.output")
    for name, a, b in zip(ctx.run.family.state_names, none_states, zero_states):
        r.judge(a, b, tol, f"final {name} {what}", subject=f"none_vs_zeros.state.{name}")


def _custom_is_honoured(ctx: Context, r: CheckResult) -> None:
    probes, ref, tol = ctx.run.probes, ctx.ref, ctx.values_tol
    assert probes.custom is not None and probes.zeros is not None
    custom_seq, custom_states = probes.custom
    zero_seq, _ = probes.zeros
    moved = float(np.max(np.abs(custom_seq - zero_seq), initial=0.0))
    if moved <= tol.atol:
        r.add(
            "custom.ignored",
            "a custom initial_state was ignored: the output sequence equals the zero-state run "
            f"(max difference {moved:.3g})",
        )
    oracle = ref.trace(ctx.run.data.custom_state) if ref is not None else None
    if ref is not None and oracle is not None:  # a reference that can start anywhere (the loop cannot)
        what = f"from a custom initial_state vs {ref.label}"
        r.judge(
            custom_seq,
            oracle.sequence,
            tol,
            f"output sequence {what}",
            subject="custom.output",
            vs_reference=True,
        )
        for name, a, b in zip(ctx.run.family.state_names, custom_states, oracle.states):
            r.judge(a, b, tol, f"final {name} {what}", subject=f"custom.state.{name}", vs_reference=True)


def _chunks_carry(ctx: Context, r: CheckResult) -> None:
    chunked, tol = ctx.run.probes.chunked, ctx.values_tol
    if chunked is None:
        return
    assert ctx.run.probes.custom is not None
    seq, whole = chunked.sequence, ctx.run.probes.custom[0]
    split = chunked.split
    where = ""
    if chunked.keep is not None:
        where = " at the steps the mask keeps"
        seq, whole = (np.where(chunked.keep[:, :, None], a, 0.0) for a in (seq, whole))
    r.judge(
        seq,
        whole,
        tol,
        f"outputs of two chunks ({split.first_len} steps, then {split.second_len}, in processing order; "
        f"final state carried) vs one run over the whole sequence{where}",
        subject="chunks.output",
    )
    for name, a, b in zip(ctx.run.family.state_names, chunked.states, ctx.run.probes.custom[1]):
        r.judge(a, b, tol, f"final {name} after two chunks vs one run", subject=f"chunks.state.{name}")


def _own_layer(ctx: Context, r: CheckResult) -> None:
    """The same, on the case's own layer as configured (the probes above use a layer with every return
    flag on): no state there equals zeros, and a custom state gives the oracle's output and states."""
    probes, ref, tol, run = ctx.run.probes, ctx.ref, ctx.values_tol, ctx.run
    if probes.own_custom is None:
        return
    names = run.family.state_names
    if probes.own_zeros is not None:  # the main call had no state: it must equal zeros
        zeros_out, zeros_states = probes.own_zeros
        what = f"{ctx.call} with no initial_state vs with explicit zeros"
        r.judge(run.output, zeros_out, tol, f"output of {what}", subject="own_layer.none_vs_zeros.output")
        for name, a, b in zip(names, run.states or [], zeros_states):
            r.judge(a, b, tol, f"final {name} of {what}", subject=f"own_layer.none_vs_zeros.state.{name}")
    oracle = ref.trace(run.data.custom_state) if ref is not None else None
    if ref is None or oracle is None:
        return
    out, states = probes.own_custom
    what = f"of the case's own layer from a custom initial_state vs {ref.label}"
    r.judge(
        out, ref.output(oracle), tol, f"output {what}", subject="own_layer.custom.output", vs_reference=True
    )
    for name, a, b in zip(names, states, oracle.states):
        r.judge(
            a, b, tol, f"final {name} {what}", subject=f"own_layer.custom.state.{name}", vs_reference=True
        )
