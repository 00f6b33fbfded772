"""Run one item: one path, one dtype, one device; collect every observation the checks need.

The path's layer is built once. The main call (as the case configures it) is made under a GradientTape,
so shapes, dtypes, agreement and gradients all come from that one call; the initial-state checks add the
few extra calls on the same layer that they need by definition (zeros vs none, a custom state, two chunks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conformance.case import Case
from conformance.data import CaseData, make
from conformance.families import Family
from conformance.oracle.types import Trace
from conformance.paths import RUNNERS, ManualLoop, Returned, Runner, returned, to_numpy
from conformance.structure import flatten
from conformance.tfenv import TFEnv


class PathError(Exception):
    """A Keras call raised: keeps the exception and the call that was being made."""

    def __init__(self, call: str, error: BaseException, steps: list[str]) -> None:
        super().__init__(f"{call} raised {type(error).__name__}: {error}")
        self.call, self.error, self.steps = call, error, steps


@dataclass
class PathRun:
    """Observations of one item; NumPy float64 throughout, dtypes kept as names."""

    path: str
    device: str
    family: Family
    kernel: str
    steps: list[str]
    data: CaseData
    main: Returned  # what the configured call returned
    output: np.ndarray
    states: list[np.ndarray] | None  # final states as returned (None when the path does not return them)
    variables: dict[str, str]  # weight name -> variable dtype
    grads: dict[str, np.ndarray | None]  # "inputs", "state.h", ..., "kernel", ... -> gradient
    cell_step: Returned | None = None  # manual loop: what cell(x_t, states) returned as its states
    initial_state: Returned | None = None  # what get_initial_state returned
    probes: dict[str, Any] = field(default_factory=dict)  # initial-state checks' extra calls
    loop: Trace | None = None  # a custom cell with no reference: the manual loop's run, to agree with
    mode: str = "eager"
    dropout: dict[str, Any] = field(default_factory=dict)  # training=True runs (the dropout check)
    stateful: dict[str, Any] = field(default_factory=dict)  # carried-state calls (the stateful check)

    @property
    def main_call(self) -> str:
        """The call under test, as the user would write it (not the checks' extra calls)."""
        calls = [s for s in self.steps if s.startswith(("layer(", "for t in"))]
        return calls[0] if calls else self.steps[-1]


def _device_name(device: str) -> str:
    return "/GPU:0" if device == "gpu" else "/CPU:0"


def execute(env: TFEnv, case: Case, path: str, dtype: str, device: str, mode: str = "eager") -> PathRun:
    """Build the path, make the main call under a tape and the probes the checks ask for."""
    runner = RUNNERS[path](env, case, dtype, mode)
    try:
        with env.tf.device(_device_name(device)):
            return _execute(runner, device)
    except Exception as exc:
        raise PathError(runner.last_call, exc, runner.steps) from exc


def _execute(r: Runner, device: str) -> PathRun:
    tf, case = r.tf, r.case
    r.build()  # with Keras's own initializers; then the case's numbers, shaped by the (built) family
    data = r.data = make(case, r.dtype, r.family)
    r.inject_weights(r.owner)
    x = r.tensor(data.inputs)
    mask = r.mask_tensor(data.mask)
    init_returned = None
    if case.initial_state.kind == "get_initial_state":
        got = r.get_initial_state(x)
        init_returned = returned(got)
        init = flatten(got)
    elif data.initial_state is not None:
        init = r.states(data.initial_state)
    else:
        init = None
    variables = r.weight_variables()
    sources = {
        "inputs": x,
        **{f"state.{n}": s for n, s in zip(r.family.state_names, init or [])},
        **variables,
    }
    # Forward and backward are one step, compiled together in the function and XLA modes as a training
    # step is (a tape outside an XLA function cannot take its gradient at all).

    def step(x: Any, init: list[Any] | None, mask: Any) -> tuple[Any, list[Any]]:
        return _step(r, x, init, mask, sources)

    value, grads = r.in_mode("step", step)(x, init, mask)
    output, states = r.split(value)
    run = PathRun(
        path=r.name,
        device=device,
        family=r.family,
        kernel=r.kernel(device),
        steps=r.steps,
        data=data,
        main=returned(value),
        output=to_numpy(output),
        states=[to_numpy(s) for s in states] if states is not None else None,
        variables={
            n: v.dtype.name if hasattr(v.dtype, "name") else str(v.dtype) for n, v in variables.items()
        },
        grads={n: None if g is None else to_numpy(tf.convert_to_tensor(g)) for n, g in zip(sources, grads)},
        cell_step=getattr(r, "step_returned", None),
        initial_state=init_returned,
        mode=r.mode,
    )
    if "initial_state" in case.expect.checks or (case.expect.states is not None and states is None):
        run.probes = _probes(r, x, init, mask)
    if _needs_loop(r):
        run.loop = _loop_trace(r, x, init, mask)
    if "dropout" in case.expect.checks:
        run.dropout = _dropout_runs(r, x, init, mask)
    if "stateful" in case.expect.checks:
        run.stateful = _stateful_runs(r, x, mask)
    return run


DROPOUT_SEED = 1234


def _dropout_runs(r: Runner, x: Any, init: list[Any] | None, mask: Any) -> dict[str, Any]:
    """Two training=True runs, each from ``keras.utils.set_random_seed`` and a freshly built layer.

    Reproducibility is what a user can rely on: the same seed and the same program give the same masks.
    (Keras 3 layers draw from their own seed generator, made when the layer is built, so reseeding an
    existing layer is not enough; a fresh build is the honest comparison on both flavours.)
    """
    outputs = []
    try:
        for _ in range(2):
            r.env.keras.utils.set_random_seed(DROPOUT_SEED)
            twin = RUNNERS[r.name](r.env, r.case, r.dtype, r.mode)
            twin.build()
            twin.data = r.data
            twin.inject_weights(twin.owner)
            output, _ = twin.split(twin.in_mode("call")(x, init, mask, True))
            outputs.append(to_numpy(output))
        call = next(s for s in twin.steps if "training=True" in s)
        r.record(f"keras.utils.set_random_seed({DROPOUT_SEED}); <build as above>; {call}  # twice")
    except Exception as exc:  # a finding of the dropout check alone
        return {"error": (r.last_call, exc)}
    return {"runs": outputs, "seed": DROPOUT_SEED}


def _stateful_runs(r: Runner, x: Any, mask: Any) -> dict[str, Any]:
    """A stateful layer: reset, two chunks with the state carried, the held states; reset again, one call."""
    out: dict[str, Any] = {}
    t = r.case.timesteps
    half = max(t // 2, 1)
    first, second = slice(None, half), slice(half, None)
    if r.case.options.go_backwards:  # processing order: the later steps first
        first, second = slice(t - half, None), slice(None, t - half)
    carry = r.in_mode("carry")
    part = (lambda s: None) if mask is None else (lambda s: mask[:, s])
    try:
        r.reset_states()
        out["reset"] = r.held_states()
        chunks = [carry(x[:, first, :], part(first))]
        if t >= 2:
            chunks.append(carry(x[:, second, :], part(second)))
        out["chunks"] = [to_numpy(c[0] if isinstance(c, (list, tuple)) else c) for c in chunks]
        out["carried"] = r.held_states()
        r.reset_states()
        again = carry(x, mask)
        out["again"] = to_numpy(again[0] if isinstance(again, (list, tuple)) else again)
        out["again_states"] = r.held_states()
    except Exception as exc:
        out["error"] = (r.last_call, exc)
        return out
    # Keras's batch-size rule: the carried state has `batch` rows, so another batch size is refused.
    bigger = r.tf.concat([x, x[:1]], axis=0)
    r.record(f"layer(<x with batch {r.case.batch + 1}>)  # must raise: the layer holds {r.case.batch} rows")
    try:
        r.in_mode("carry")(bigger, None if mask is None else r.tf.concat([mask, mask[:1]], axis=0))
        out["other_batch"] = None
    except Exception as exc:  # the expected outcome
        out["other_batch"] = (
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        )
    return out


def _step(
    r: Runner, x: Any, init: list[Any] | None, mask: Any, sources: dict[str, Any]
) -> tuple[Any, list[Any]]:
    """The call under test under a tape, the item's loss, and its gradients (none if shapes are wrong)."""
    tf, case, data = r.tf, r.case, r.data
    loss_dtype = tf.float64 if r.dtype == "float64" else tf.float32
    watched = [x, *(init or [])]
    with tf.GradientTape() as tape:
        for t in watched:
            tape.watch(t)
        value = r.call(x, init, mask)
        output, states = r.split(value)
        # The loss is the same function on every path: states count only where the layer returns them.
        terms = [
            (output, data.cot_output),
            *zip((states or []) if case.options.return_state else [], data.cot_states),
        ]
        # A returned tensor of the wrong shape is the shape check's finding: then there is no loss to take.
        if not all(tuple(tensor.shape) == cot.shape for tensor, cot in terms):
            return value, []
        loss = tf.add_n(
            [tf.reduce_sum(tf.cast(t, loss_dtype) * tf.constant(c, loss_dtype)) for t, c in terms]
        )
    r.record("tape.gradient(loss, [x, *initial_state, *cell.trainable_weights])")
    # Inside a tf.function the arguments are new tensors: take the gradient w.r.t. those, not the originals.
    return value, tape.gradient(loss, [*watched, *list(sources.values())[len(watched) :]])


def _needs_loop(r: Runner) -> bool:
    """A custom cell with no reference function is judged against its own manual loop."""
    custom = r.case.custom
    return (
        custom is not None
        and custom.reference is None
        and r.name != "manual_loop"
        and "agreement" in r.case.expect.checks
    )


def _loop_trace(r: Runner, x: Any, init: list[Any] | None, mask: Any) -> Trace:
    """The manual loop over the same cell class, with the same numbers, from the same initial state."""
    loop = ManualLoop(r.env, r.case, r.dtype)
    loop.build()
    loop.data = r.data
    loop.inject_weights(loop.owner)
    seq, states = loop.probe(x, init, mask)
    r.record("reference: the manual loop over the same cell, weights and inputs")
    return Trace(to_numpy(seq), tuple(to_numpy(s) for s in states))


# initial_state kind -> the probe that makes the identical call: "random" feeds data.custom_state itself,
# "zeros" the same zeros in the feed dtype, "none" no state (a layer path's "none" probe; the manual loop
# makes none, so it probes the case's call itself).
_SAME_PROBE = {"random": "custom", "zeros": "zeros", "none": "none"}


def _probes(r: Runner, x: Any, init: list[Any] | None, mask: Any) -> dict[str, Any]:
    """Extra calls on the same layer: none vs zeros, a custom state, and the state carried over two chunks."""
    data, t = r.data, r.case.timesteps
    out: dict[str, Any] = {}
    call = r.in_mode("probe")

    def probe(inputs: Any, state: list[Any] | None) -> tuple[np.ndarray, list[np.ndarray]]:
        seq, states = call(inputs, state, mask)
        return to_numpy(seq), [to_numpy(s) for s in states]

    # The case's own initial state is, for most kinds, one of the states probed anyway (the same numbers in
    # the same dtype): that call is made once and its result used for both.
    same = _SAME_PROBE.get(r.case.initial_state.kind)
    try:
        if same is None:
            out["as_case"] = probe(x, init)
        if r.name != "manual_loop":  # the loop has no "no state": it starts from zeros by construction
            out["none"] = probe(x, None)
        out["zeros"] = probe(x, r.states(data.zero_state()))
        custom = r.states(data.custom_state)
        out["custom"] = probe(x, custom)
        if same is not None:
            out["as_case"] = out[same] if same in out else probe(x, init)
        if t >= 2 and r.structure.kind != "bidirectional":  # a backward direction does not chunk forwards
            half = t // 2
            # Chunks in processing order: with go_backwards the later steps are processed first.
            first, second = (slice(half, None), slice(None, half))
            if not r.case.options.go_backwards:
                first, second = second, first
            part = (lambda s: None) if mask is None else (lambda s: mask[:, s])
            first_seq, first_states = call(x[:, first, :], custom, part(first))
            second_seq, second_states = call(x[:, second, :], list(first_states), part(second))
            # Masked steps at the start of the second chunk output zeros, not the first chunk's last output
            # (Keras's rule: "In the case T = 0, a zero filled tensor will be used"): outputs are compared
            # at the steps the mask keeps, in processing order.
            keep = (
                None
                if data.mask is None
                else data.mask[:, ::-1]
                if r.case.options.go_backwards
                else data.mask
            )
            out["chunked"] = (
                np.concatenate([to_numpy(first_seq), to_numpy(second_seq)], axis=1),
                [to_numpy(s) for s in second_states],
                t - half if r.case.options.go_backwards else half,
                keep,
            )
    except Exception as exc:  # a finding of the initial-state check alone; the other checks still report
        out["error"] = (r.last_call, exc)
    return out
