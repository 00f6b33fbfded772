"""The bare baseline: the TF work of every shipped case item, with no checks, oracle, verdict or pytest.

Usage: python bench/bare.py [CASE_DIR] [--out FILE]   (default: cases/; CPU items only)

For each CPU item (case variant, path, context, mode, dtype) it does what the kit's item asks TensorFlow
to do, and nothing else: build the path's layer and the context's model (``conformance.registry``'s
runners and contexts, so layers, models and kwargs are the kit's), assign the case's weights
(``conformance.run.data.make``), make the main call and its gradient in the item's mode (eager, or one
``tf.function`` / XLA step), read the results back to NumPy, and make the extra calls the kit makes, with
the kit's own functions: the initial-state probes, the manual-loop reference, the dropout and stateful
runs, and a model context's symbolic build, ``predict``, training steps and saving round trips. Not done
here: the oracle, the checks (a carry-over check's loading of shipped artifacts is a check), the verdict,
the call log's use, pytest. The case files are read once, before any timing; TensorFlow is imported before
any timing too. Per item it records the wall time of that TF work only, keyed by the pytest node id the
kit gives the same item, and writes ``{"items": {nodeid: seconds}, ...}`` as JSON.

Reusing the kit's runners is what makes it a fair baseline: a hand-written script that built the layers
differently would measure a different computation, and the difference would not be the kit's overhead.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from conformance import casefile, registry
from conformance.casefile.case import Case
from conformance.item import ItemId
from conformance.run import execute, probes, tfenv
from conformance.run.data import make
from conformance.run.paths.base import Runner


def _np(t: Any) -> np.ndarray:
    return np.asarray(t)


def _numpy_all(value: Any) -> None:
    """Read every tensor of a (nested) result back, as the kit's checks do."""
    if isinstance(value, (list, tuple)):
        for v in value:
            _numpy_all(v)
    elif value is not None:
        _np(value)


def item(tf: Any, env: tfenv.TFEnv, case: Case, it: ItemId) -> None:
    """One item's TF work (see the module docstring), in the item's context and mode."""
    r: Runner = registry.runner(it.path)(env, case, it.dtype, it.mode)
    with tf.device("/CPU:0"):
        r.build()
        r.data = data = make(case, it.dtype, r.family)
        r.inject_weights(r.owner)
        x = r.tensor(data.inputs)
        mask = r.mask_tensor(data.mask)
        if case.initial_state.kind == "get_initial_state":
            got = r.get_initial_state(x)
            init: list[Any] | None = list(got) if isinstance(got, (list, tuple)) else [got]
            _numpy_all(init)
        elif data.initial_state is not None:
            init = r.states(data.initial_state)
        else:
            init = None
        context = registry.context(it.context)(r)
        context.build()
        variables = r.weight_variables()
        sources = {"inputs": x, **{f"state.{i}": s for i, s in enumerate(init or [])}, **variables}

        def step(x: Any, init: list[Any] | None, mask: Any) -> tuple[Any, list[Any]]:
            return execute._step(r, context, x, init, mask, sources)  # the kit's call, loss and gradient

        value, grads = r.in_mode("step", step)(x, init, mask)
        _numpy_all(value)
        [_np(tf.convert_to_tensor(g)) for g in grads if g is not None]
        _, states = context.split(value)
        checks = case.expect.checks
        # The same extra calls as conformance.run.execute._execute, made by the same functions.
        if "initial_state" in checks or (case.expect.states is not None and states is None):
            probes.initial_state_probes(r, x, init, mask)
        if execute._needs_loop(r):
            execute._loop_trace(r, x, init, mask)
        if "dropout" in checks:
            probes.dropout_runs(r, x, init, mask)
        if "stateful" in checks:
            probes.stateful_runs(context, x, mask)
        context.observe(x, init, mask)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="?", default="cases")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    root = Path(args.cases)
    loaded = [(p, casefile.load(p)) for p in sorted(root.glob("*.toml"))]  # before timing, like collection
    env = tfenv.load()
    tf = env.tf
    times: dict[str, float] = {}
    errors = 0
    for path_, cases in loaded:
        for case in cases:
            if not isinstance(case, Case) or "cpu" not in case.devices:
                continue
            for path, context, mode, dtype in itertools.product(
                case.paths, case.contexts, case.modes, case.dtypes
            ):
                item_id = ItemId(case.id, case.variant, path, mode, dtype, "cpu", context)
                nodeid = f"{path_.as_posix()}::{item_id.name}"
                started = time.perf_counter()
                try:
                    item(tf, env, case, item_id)
                except Exception:  # a Keras error ends the item, as in the kit (an xfail or a finding)
                    errors += 1
                times[nodeid] = time.perf_counter() - started
    doc = {"items": times, "errors": errors, "total": sum(times.values())}
    if args.out:
        args.out.write_text(json.dumps(doc, indent=1))
    print(f"bare: {len(times)} items, {doc['total']:.2f} s of TF work, {errors} raised")
    return 0


if __name__ == "__main__":
    sys.exit(main())
