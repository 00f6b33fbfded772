"""The expectations, each judged on its own from one item's observations.

Every check returns a :class:`CheckResult`; an item reports all failing checks together, so one run tells
everything that is wrong. Problems name the call that produced the value, then the numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conformance.case import Case, Tolerance
from conformance.compare import compare
from conformance.data import DTYPE_ROLES
from conformance.reference import Reference
from conformance.run import PathRun


@dataclass
class CheckResult:
    name: str
    problems: list[str] = field(default_factory=list)
    not_applicable: str = ""  # why the check had nothing to judge on this item
    worst: float = 0.0  # largest error / tolerance among the comparisons made
    details: dict[str, Any] = field(default_factory=dict)  # machine-readable extras for results files

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    def judge(
        self, actual: np.ndarray, expected: np.ndarray, tol: Tolerance, what: str, *, scale_atol: bool = False
    ) -> bool:
        cmp = compare(actual, expected, tol, what, scale_atol=scale_atol)
        self.worst = max(self.worst, cmp.worst)
        if not cmp.ok:
            self.problems.append(cmp.message)
        return cmp.ok


@dataclass
class Context:
    """What every check may look at."""

    case: Case
    dtype: str
    run: PathRun
    ref: Reference | None  # None: a custom cell's manual loop, which is its own reference
    values_tol: Tolerance
    grads_tol: Tolerance

    @property
    def call(self) -> str:
        return self.run.main_call


def shape(ctx: Context) -> CheckResult:
    r = CheckResult("shape")
    case, run = ctx.case, ctx.run
    fam = run.family
    b, t = case.batch, case.timesteps
    u = fam.output_units or case.units
    out_shape = (b, t, u) if case.options.return_sequences else (b, u)
    state_shapes = fam.state_shapes(b, case.units)
    if run.path == "manual_loop":
        got = run.output.shape
        if got != out_shape:
            r.problems.append(f"stacked loop output.shape={got}, expected {out_shape} [{ctx.call}]")
        step = run.cell_step
        if step is not None:
            shapes = [a.shape for a in step.arrays]
            if case.structure.kind == "bidirectional":  # each direction's cell steps its own states
                state_shapes = state_shapes[: len(state_shapes) // 2]
            want = state_shapes
            if step.container == "tensor" or shapes != want:
                r.problems.append(
                    f"cell(x_t, states) returned new states as {step.container} of shapes {shapes}, "
                    f"expected a list/tuple of {len(state_shapes)} arrays of shapes {state_shapes}"
                )
        return r
    pair = case.structure.kind == "bidirectional" and case.structure.merge_mode == "none"
    outputs = ["forward output", "backward output"] if pair else ["output"]
    n_expected = len(outputs) + (fam.n_states if case.options.return_state else 0)
    main = run.main
    if pair:  # merge_mode=None: a list of the two directions' outputs, each of half the kit's view
        half = (*out_shape[:-1], out_shape[-1] // 2)
        if main.container == "tensor" or len(main.arrays) != n_expected:
            r.problems.append(
                f"{ctx.call} returned {main.container} of {len(main.arrays)} item(s), expected a list of "
                f"{n_expected} ({', '.join([*outputs, *fam.state_names][:n_expected])}) for merge_mode=None"
            )
            return r
        for name, array, expected in zip(
            [*outputs, *fam.state_names], main.arrays, [half, half, *state_shapes]
        ):
            if array.shape != expected:
                r.problems.append(f"{name}.shape={array.shape}, expected {expected} [{ctx.call}]")
        return r
    if case.options.return_state and (main.container == "tensor" or len(main.arrays) != n_expected):
        r.problems.append(
            f"{ctx.call} returned {main.container} of {len(main.arrays)} item(s), expected a "
            f"list/tuple of {n_expected} (output, {', '.join(fam.state_names)}) for return_state=True"
        )
        return r
    if not case.options.return_state and main.container != "tensor":
        r.problems.append(
            f"{ctx.call} returned a {main.container}, expected one tensor for return_state=False"
        )
        return r
    names = ["output", *fam.state_names]
    wants: list[tuple[int, ...]] = [out_shape, *state_shapes]
    for name, array, expected in zip(names, main.arrays, wants):
        if array.shape != expected:
            r.problems.append(f"{name}.shape={array.shape}, expected {expected} [{ctx.call}]")
    return r


def dtype(ctx: Context) -> CheckResult:
    r = CheckResult("dtype")
    _feed, variable, compute = DTYPE_ROLES[ctx.dtype]
    run, fam = ctx.run, ctx.run.family
    pair = ctx.case.structure.kind == "bidirectional" and ctx.case.structure.merge_mode == "none"
    outputs = ["forward output", "backward output"] if pair and run.path != "manual_loop" else ["output"]
    names = (
        [*outputs, *fam.state_names]
        if run.path == "manual_loop" or ctx.case.options.return_state
        else outputs
    )
    for name, got in zip(names, run.main.dtypes):
        if got != compute:
            r.problems.append(
                f"{name}.dtype={got}, expected {compute} (compute dtype of {ctx.dtype}) [{ctx.call}]"
            )
    for name, got in run.variables.items():
        if got != variable:
            r.problems.append(f"cell.{name}.dtype={got}, expected {variable} (variable dtype of {ctx.dtype})")
    if run.initial_state is not None:
        for name, got in zip(fam.state_names, run.initial_state.dtypes):
            if got != compute:
                r.problems.append(
                    f"get_initial_state()[{name}].dtype={got}, expected {compute} "
                    f"[{_initial_state_call(run)}]"
                )
    return r


def _initial_state_call(run: PathRun) -> str:
    return next((s for s in run.steps if ".get_initial_state(" in s), "get_initial_state")


def _raised(r: CheckResult, found: dict[str, Any]) -> bool:
    """A probe that raised is the check's finding; say so and stop judging."""
    if "error" not in found:
        return False
    call, exc = found["error"]
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    r.problems.append(f"{call} raised {type(exc).__name__}: {first_line}")
    return True


def initial_state(ctx: Context) -> CheckResult:
    r = CheckResult("initial_state")
    case, run, ref, tol = ctx.case, ctx.run, ctx.ref, ctx.values_tol
    fam = run.family
    if run.initial_state is not None:  # get_initial_state as spelled: the documented structure of zeros
        got, call = run.initial_state, _initial_state_call(run)
        shapes = [a.shape for a in got.arrays]
        want = fam.state_shapes(case.batch, case.units)
        if (got.container == "tensor" and fam.n_states > 1) or shapes != want:
            r.problems.append(
                f"{call} returned {got.container} of shapes {shapes}, expected a list of "
                f"{fam.n_states} zero arrays of shapes {want} "
                f"({', '.join(fam.state_names)})"
            )
        else:
            for name, a in zip(fam.state_names, got.arrays):
                if np.any(a != 0):
                    r.problems.append(
                        f"{call}[{name}] is not all zeros: {int(np.count_nonzero(a))} of {a.size} "
                        f"non-zero, max |value| {np.max(np.abs(a)):.4g}"
                    )
    probes = run.probes
    if not probes:
        r.not_applicable = "no probes were run"
        return r
    if _raised(r, probes):
        return r
    if "none" in probes:
        none_seq, none_states = probes["none"]
        zero_seq, zero_states = probes["zeros"]
        r.judge(none_seq, zero_seq, tol, "output sequence with no initial_state vs with explicit zeros")
        for name, a, b in zip(fam.state_names, none_states, zero_states):
            r.judge(a, b, tol, f"final {name} with no initial_state vs with explicit zeros")
    custom_seq, custom_states = probes["custom"]
    zero_seq, _ = probes["zeros"]
    if np.max(np.abs(custom_seq - zero_seq), initial=0.0) <= tol.atol:
        r.problems.append(
            "a custom initial_state was ignored: the output sequence equals the zero-state run "
            f"(max difference {np.max(np.abs(custom_seq - zero_seq), initial=0.0):.3g})"
        )
    oracle = ref.trace(run.data.custom_state) if ref is not None else None
    if ref is not None and oracle is not None:  # a reference that can start anywhere (the loop cannot)
        r.judge(
            custom_seq, oracle.sequence, tol, f"output sequence from a custom initial_state vs {ref.label}"
        )
        for name, a, b in zip(fam.state_names, custom_states, oracle.states):
            r.judge(a, b, tol, f"final {name} from a custom initial_state vs {ref.label}")
    if "chunked" in probes:
        seq, states, half, keep = probes["chunked"]
        where = " at the steps the mask keeps" if keep is not None else ""
        if keep is not None:
            seq, custom_seq = (np.where(keep[:, :, None], a, 0.0) for a in (seq, custom_seq))
        r.judge(
            seq,
            custom_seq,
            tol,
            f"outputs of two chunks ({half} steps, then {case.timesteps - half}, in processing order; final "
            f"state carried) vs one run over the whole sequence{where}",
        )
        for name, a, b in zip(fam.state_names, states, custom_states):
            r.judge(a, b, tol, f"final {name} after two chunks vs one run")
    return r


def gradient(ctx: Context) -> CheckResult:
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
    grad_call = "tape.gradient(loss, [x, *initial_state, *cell.trainable_weights])"
    for name, got in run.grads.items():
        want = expected[name]
        label = f"d loss / d {name}"
        if got is None:
            r.problems.append(f"{label} is None: no gradient flows from the loss to {name} [{grad_call}]")
            continue
        bad = ~np.isfinite(got)
        if bad.any():
            r.problems.append(
                f"{label}: {int(bad.sum())} of {got.size} elements are not finite [{grad_call}]"
            )
            continue
        # Non-zero where the math says so: per time step for inputs, per tensor otherwise. With an oracle,
        # only where its gradient exceeds the absolute tolerance (below it, zero is within tolerance);
        # without one (a custom cell), everywhere: a recurrent cell's gradients reach every input.
        axes = tuple(i for i in range(got.ndim) if i != 1) if name == "inputs" else None
        got_nz = np.max(np.abs(got), axis=axes) > 0
        if want is None:
            want_nz = np.ones_like(got_nz, dtype=bool)
        else:
            floor = tol.atol * max(1.0, float(np.max(np.abs(want), initial=0.0)))
            want_nz = np.max(np.abs(want), axis=axes) > floor
        missing = np.atleast_1d(want_nz & ~got_nz)
        if missing.any():
            where = (
                f"at time steps {np.flatnonzero(missing)[:10].tolist()}" if name == "inputs" else "everywhere"
            )
            whose = "the oracle's is not" if want is not None else "a recurrent cell's cannot be"
            r.problems.append(f"{label} is zero {where} where {whose}: the gradient does not reach it")
            continue
        if want is not None:
            r.judge(got, want, tol, f"{label} vs oracle", scale_atol=True)
    return r


def agreement(ctx: Context) -> CheckResult:
    r = CheckResult("agreement")
    run, ref, tol = ctx.run, ctx.ref, ctx.values_tol
    if ref is None:
        r.not_applicable = "a custom cell without a reference function: the manual loop is the reference"
        return r
    r.judge(run.output, ref.output(), tol, f"output of {ctx.call} vs {ref.label}")
    for name, got, want in zip(ctx.run.family.state_names, run.states or [], ref.main.states):
        r.judge(got, want, tol, f"final {name} of {ctx.call} vs {ref.label}")
    return r


def values(ctx: Context) -> CheckResult:
    """Pinned numbers (e.g. published ones) written in the case file."""
    r = CheckResult("values")
    expect, run = ctx.case.expect, ctx.run
    tol = expect.pinned_tolerance
    if expect.output is not None:
        r.judge(run.output, expect.output, tol, f"output of {ctx.call} vs expect.output")
    if expect.states is not None:
        states = run.states if run.states is not None else run.probes["as_case"][1]
        for name, got, want in zip(ctx.run.family.state_names, states, expect.states):
            r.judge(got, want, tol, f"final {name} vs expect.states")
    return r


def dropout(ctx: Context) -> CheckResult:
    """training=True: reproducible from the same seed and program, and not the inference output.

    What the kit cannot assert: which units are dropped (the masks come from Keras's RNG), their rate, or
    that the same mask is reused at every step. training=False equalling no dropout is the agreement
    check's job: the main call is an inference call and the oracle has no dropout.
    """
    r = CheckResult("dropout")
    found, tol = ctx.run.dropout, ctx.values_tol
    if _raised(r, found):
        return r
    first, second = found["runs"]
    call = next((s for s in ctx.run.steps if s.startswith("keras.utils.set_random_seed")), "training=True")
    if not np.all(np.isfinite(first)):
        r.problems.append(f"training=True output has non-finite values [{call}]")
    if not np.array_equal(first, second, equal_nan=True):
        diff = np.abs(first - second)
        r.problems.append(
            f"not reproducible: two training=True runs from set_random_seed({found['seed']}) differ in "
            f"{int(np.count_nonzero(diff))} of {diff.size} elements (max {np.nanmax(diff):.3g}) [{call}]"
        )
    moved = float(np.max(np.abs(first - ctx.run.output), initial=0.0))
    if moved <= tol.atol:
        r.problems.append(
            f"training=True output equals the inference output (max difference {moved:.3g}): dropout "
            f"was not applied [{call}]"
        )
    r.details = {"max_change_from_inference": moved}
    return r


def stateful(ctx: Context) -> CheckResult:
    """A stateful layer carries its state across calls, and reset_states() returns it to zeros."""
    r = CheckResult("stateful")
    found, ref, tol, case = ctx.run.stateful, ctx.ref, ctx.values_tol, ctx.case
    if _raised(r, found):
        return r
    fam = ctx.run.family
    for name, a in zip(fam.state_names, found["reset"]):
        if np.any(a != 0):
            r.problems.append(f"after layer.reset_states(), layer.states[{name}] is not all zeros")
    if found.get("other_batch", "") is None:
        r.problems.append(
            f"a stateful layer holding {case.batch} rows accepted a batch of {case.batch + 1}: Keras's rule "
            "(the batch size of a stateful layer is fixed) was not enforced"
        )
    if ref is None:
        r.not_applicable = "no reference to compare the carried run with"
        return r
    expected = ref.trace(ctx.run.data.zero_state()) or ref.main
    masked = case.mask is not None
    chunks = found["chunks"]
    if case.options.return_sequences and not masked:
        r.judge(
            np.concatenate(chunks, axis=1),
            expected.sequence,
            tol,
            f"outputs of {len(chunks)} calls on a stateful layer (state carried by the layer) vs {ref.label} "
            "over the whole sequence from zeros",
        )
    elif not masked:  # with a mask, the last output of a call depends on where its chunk starts
        r.judge(chunks[-1], expected.sequence[:, -1], tol, f"last output of the second call vs {ref.label}")
    for name, a, b in zip(fam.state_names, found["carried"], expected.states):
        r.judge(a, b, tol, f"layer.states[{name}] after {len(chunks)} stateful calls vs {ref.label}")
    r.judge(
        found["again"], ref.output(expected), tol, f"output after reset_states() vs {ref.label} from zeros"
    )
    for name, a, b in zip(fam.state_names, found["again_states"], expected.states):
        r.judge(a, b, tol, f"layer.states[{name}] after reset_states() and one call vs {ref.label}")
    return r


CHECKS: dict[str, Callable[[Context], CheckResult]] = {
    "shape": shape,
    "dtype": dtype,
    "initial_state": initial_state,
    "gradient": gradient,
    "agreement": agreement,
    "values": values,
    "dropout": dropout,
    "stateful": stateful,
}


def evaluate(
    case: Case, dtype_name: str, run: PathRun, tols: tuple[Tolerance, Tolerance]
) -> list[CheckResult]:
    """Every check the case asks for, on one run, with the item's (values, gradients) tolerances."""
    ref = Reference.for_item(case, run.data, run.family, run.loop)
    ctx = Context(case, dtype_name, run, ref, *tols)
    return [CHECKS[name](ctx) for name in case.expect.checks]
