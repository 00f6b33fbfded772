"""Run one item: one path, one dtype, one device, one mode; collect every observation the checks need.

The path's layer is built once. The main call (as the case configures it) is made under a GradientTape,
so shapes, dtypes, agreement and gradients all come from that one call; the probes
(:mod:`conformance.run.probes`) add the few extra calls some checks need by definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conformance import registry
from conformance.casefile.case import Case
from conformance.families.base import Family
from conformance.families.structures import flatten
from conformance.item import ItemId
from conformance.oracle.types import Trace
from conformance.run import kernels
from conformance.run.contexts.base import Context, ModelRun
from conformance.run.data import CaseData, make
from conformance.run.kernels import Kernel
from conformance.run.paths.base import Runner
from conformance.run.probes import (
    DropoutRuns,
    Probes,
    StatefulRuns,
    dropout_runs,
    initial_state_probes,
    stateful_runs,
)
from conformance.run.tensors import Returned, dtype_name, returned, to_numpy
from conformance.run.tfenv import TFEnv


class PathError(Exception):
    """A Keras call raised: keeps the exception and the call that was being made."""

    def __init__(self, call: str, error: BaseException, steps: list[str]) -> None:
        super().__init__(f"{call} raised {type(error).__name__}: {error}")
        self.call, self.error, self.steps = call, error, steps


@dataclass
class PathRun:
    """Observations of one item; NumPy float64 throughout, dtypes kept as names."""

    item: ItemId
    family: Family
    kernel: Kernel  # observed while the main call ran
    flavour: str
    steps: list[str]
    data: CaseData
    main: Returned  # what the configured call returned
    output: np.ndarray
    states: list[np.ndarray] | None  # final states as returned (None when the path does not return them)
    variables: dict[str, str]  # weight name -> variable dtype
    grads: dict[str, np.ndarray | None]  # "inputs", "state.h", ..., "kernel", ... -> gradient
    cell_step: Returned | None = None  # manual loop: what cell(x_t, states) returned as its states
    initial_state: Returned | None = None  # what get_initial_state returned
    probes: Probes = field(default_factory=Probes)
    loop: Trace | None = None  # a custom cell with no reference: the manual loop's run, to agree with
    dropout: DropoutRuns | None = None
    stateful: StatefulRuns | None = None
    model: ModelRun | None = None  # what a model context observed (symbolic build, predict, training)

    @property
    def path(self) -> str:
        return self.item.path

    @property
    def mode(self) -> str:
        return self.item.mode

    @property
    def device(self) -> str:
        return self.item.device

    @property
    def main_call(self) -> str:
        """The call under test, as the user would write it (not the checks' extra calls)."""
        calls = [s for s in self.steps if s.startswith("model(")]
        calls = calls or [s for s in self.steps if s.startswith(("layer(", "for t in"))]
        return calls[0] if calls else self.steps[-1]


def _device_name(device: str) -> str:
    return "/GPU:0" if device == "gpu" else "/CPU:0"


def execute(env: TFEnv, case: Case, item: ItemId) -> PathRun:
    """Build the path, make the main call under a tape and the probes the checks ask for."""
    runner: Runner = registry.runner(item.path)(env, case, item.dtype, item.mode)
    try:
        with env.tf.device(_device_name(item.device)):
            return _execute(runner, item)
    except Exception as exc:
        raise PathError(runner.last_call, exc, runner.steps) from exc


def _initial_state(r: Runner, x: Any) -> tuple[list[Any] | None, Returned | None]:
    """The state the main call starts from (None: the path gets none), and what get_initial_state returned."""
    if r.case.initial_state.kind == "get_initial_state":
        got = r.get_initial_state(x)
        return flatten(got), returned(got)
    if r.data.initial_state is not None:
        return r.states(r.data.initial_state), None
    return None, None


def _execute(r: Runner, item: ItemId) -> PathRun:
    tf, case = r.tf, r.case
    r.build()  # with Keras's own initializers; then the case's numbers, shaped by the (built) family
    data = r.data = make(case, r.dtype, r.family)
    r.inject_weights(r.owner)
    x = r.tensor(data.inputs)
    mask = r.mask_tensor(data.mask)
    init, init_returned = _initial_state(r, x)
    context: Context = registry.context(item.context)(r)
    context.build()  # the layer inside a model, in a model context
    variables = r.weight_variables()
    sources = {
        "inputs": x,
        **{f"state.{n}": s for n, s in zip(r.family.state_names, init or [])},
        **variables,
    }
    # Forward and backward are one step, compiled together in the function and XLA modes as a training
    # step is (a tape outside an XLA function cannot take its gradient at all). The kernel is observed
    # while it runs (traced: Keras 2's runtime tensors are returned from the step).
    with kernels.observe(r.env) as seen:

        def step(x: Any, init: list[Any] | None, mask: Any) -> tuple[Any, list[Any], list[Any]]:
            value, grads = _step(r, context, x, init, mask, sources)
            return value, grads, list(seen.runtimes)

        value, grads, runtimes = r.in_mode("step", step)(x, init, mask)
    kernels.resolve(seen, runtimes)
    output, states = context.split(value)
    run = PathRun(
        item=item,
        family=r.family,
        kernel=kernels.describe(
            item.path,
            r.family.cell_class,
            r.family.layer_class,
            case.custom is not None,
            item.mode,
            seen,
        ),
        flavour=r.env.flavour,
        steps=r.steps,
        data=data,
        main=returned(value),
        output=to_numpy(output),
        states=[to_numpy(s) for s in states] if states is not None else None,
        variables={n: dtype_name(v) for n, v in variables.items()},
        grads={n: None if g is None else to_numpy(tf.convert_to_tensor(g)) for n, g in zip(sources, grads)},
        cell_step=getattr(r, "step_returned", None),
        initial_state=init_returned,
    )
    checks = case.expect.checks
    if "initial_state" in checks or (case.expect.states is not None and states is None):
        run.probes = initial_state_probes(r, x, init, mask)
    if _needs_loop(r):
        run.loop = _loop_trace(r, x, init, mask)
    if "dropout" in checks:
        run.dropout = dropout_runs(r, x, init, mask)
    if "stateful" in checks:
        run.stateful = stateful_runs(context, x, mask)
    run.model = context.observe(x, init, mask)
    return run


def _step(
    r: Runner, context: Context, x: Any, init: list[Any] | None, mask: Any, sources: dict[str, Any]
) -> tuple[Any, list[Any]]:
    """The call under test under a tape, the item's loss, and its gradients (none if shapes are wrong)."""
    tf, case, data = r.tf, r.case, r.data
    loss_dtype = tf.float64 if r.dtype == "float64" else tf.float32
    watched = [x, *(init or [])]
    with tf.GradientTape() as tape:
        for t in watched:
            tape.watch(t)
        value = context.call(x, init, mask)
        output, states = context.split(value)
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
    loop = r.twin("manual_loop", mode="eager")
    seq, states = loop.probe(x, init, mask)
    r.record("reference: the manual loop over the same cell, weights and inputs")
    return Trace(to_numpy(seq), tuple(to_numpy(s) for s in states))
