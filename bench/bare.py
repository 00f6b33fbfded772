"""The bare baseline: the TF work of every shipped case item, with no checks, oracle, verdict or pytest.

Usage: python bench/bare.py [CASE_DIR] [--out FILE]   (default: cases/; CPU items only)

For each (case variant, path, dtype) on CPU it does what a kit item asks TensorFlow to do, and nothing
else: build the path's layer (``conformance.registry.runner``, so the layer and its kwargs are the kit's),
assign the case's weights (``conformance.run.data.make``), make the main call under a GradientTape, take the
gradient, read the results back to NumPy, and make the initial-state probe calls (as case, no state,
zeros, a custom state, two chunks) and the manual-loop reference where the kit makes them. Each distinct
call is made once, as the kit makes it. The case files are read once, before any timing; TensorFlow is
imported before any timing too. Per item it records the wall time of that TF work only, keyed by the
pytest node id the kit gives the same item, and writes ``{"items": {nodeid: seconds}, ...}`` as JSON.

Reusing the kit's runners is what makes it a fair baseline: a hand-written script that built the layers
differently would measure a different computation, and the difference would not be the kit's overhead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from conformance import casefile, registry
from conformance.casefile.case import Case
from conformance.item import ItemId
from conformance.run import tfenv
from conformance.run.data import make
from conformance.run.paths.base import Runner


def _np(t: Any) -> np.ndarray:
    return np.asarray(t)


def _needs(case: Case, states_returned: bool) -> tuple[bool, bool]:
    """(probes, manual-loop reference): the same conditions as conformance.run.execute._execute."""
    probes = "initial_state" in case.expect.checks or (case.expect.states is not None and not states_returned)
    loop = case.custom is not None and case.custom.reference is None and "agreement" in case.expect.checks
    return probes, loop


def _probes(r: Runner, x: Any, init: list[Any] | None) -> None:
    """The initial-state probe calls, each distinct call once (the case's own state is one of them)."""
    kind, data, t = r.case.initial_state.kind, r.data, r.case.timesteps
    outs = []
    if r.name != "manual_loop":
        outs.append(r.probe(x, None))
    outs.append(r.probe(x, r.states(data.zero_state())))
    custom = r.states(data.custom_state)
    outs.append(r.probe(x, custom))
    if not (kind in ("random", "zeros") or (kind == "none" and r.name != "manual_loop")):
        outs.append(r.probe(x, init))
    if t >= 2:
        half = t // 2
        _, first_states = r.probe(x[:, :half, :], custom)
        outs.append(r.probe(x[:, half:, :], list(first_states)))
    for seq, states in outs:
        _np(seq), [_np(s) for s in states]


def item(tf: Any, env: tfenv.TFEnv, case: Case, path: str, dtype: str) -> None:
    """One item's TF work (see the module docstring)."""
    r: Runner = registry.runner(path)(env, case, dtype)
    with tf.device("/CPU:0"):
        r.build()
        r.data = data = make(case, dtype, r.family)
        r.inject_weights(r.cell)
        x = r.tensor(data.inputs)
        if case.initial_state.kind == "get_initial_state":
            got = r.get_initial_state(x)
            init = list(got) if isinstance(got, (list, tuple)) else [got]
            [_np(s) for s in init]
        elif data.initial_state is not None:
            init = r.states(data.initial_state)
        else:
            init = None
        variables = r.weight_variables()
        loss_dtype = tf.float64 if dtype == "float64" else tf.float32
        with tf.GradientTape() as tape:
            tape.watch(x)
            for s in init or []:
                tape.watch(s)
            value = r.call(x, init)
            output, states = r.split(value)
            terms = [
                (output, data.cot_output),
                *zip((states or []) if case.options.return_state else [], data.cot_states),
            ]
            loss = tf.zeros((), loss_dtype)
            for tensor, cot in terms:
                if tuple(tensor.shape) == cot.shape:
                    loss += tf.reduce_sum(tf.cast(tensor, loss_dtype) * tf.constant(cot, loss_dtype))
        grads = tape.gradient(loss, [x, *(init or []), *variables.values()])
        [_np(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
        [_np(tf.convert_to_tensor(g)) for g in grads if g is not None]
        probes, loop = _needs(case, states is not None)
        if probes:
            with contextlib.suppress(Exception):  # the kit stops probing at the first error too
                _probes(r, x, init)
        if loop and path != "manual_loop":
            seq, st = r.twin("manual_loop", mode="eager").probe(x, init)
            _np(seq), [_np(s) for s in st]


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
            for path in case.paths:
                for dtype in case.dtypes:
                    item_id = ItemId(case.id, case.variant, path, "eager", dtype, "cpu")
                    nodeid = f"{path_.as_posix()}::{item_id.name}"
                    started = time.perf_counter()
                    try:
                        item(tf, env, case, path, dtype)
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
