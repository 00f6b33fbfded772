"""API-contract cases: call one public recurrent API with given arguments and state the outcome.

A ``[[contract]]`` table builds ``keras.layers.<layer>(**args)`` (an RNN gets its ``cell`` built the same
way), optionally calls it once on ``inputs`` first (stateful layers, built layers), then makes one call —
the constructor itself, ``__call__``, or a method such as ``get_initial_state`` — and checks that it
returns the stated structure (container, length, shapes) or raises the stated exception. Known
differences between Keras versions are declared with the same strict ``[[contract.divergence]]`` tables as
cases.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from conformance.casefile.case import Contract, Returns
from conformance.item import ItemId
from conformance.run import tfenv
from conformance.verdict.divergence import applicable, exception_is
from conformance.verdict.outcome import ItemOutcome


def _stated(c: Contract) -> str:
    if c.raises:
        return f"raises {c.raises}" + (f" matching {c.match!r}" if c.match else "")
    return f"returns {c.returns.container if c.returns else 'anything'}"


def _a(noun: str) -> str:
    if noun == "none":
        return "None"
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _value(raw: Any, tf: Any, x: Any) -> Any:
    """Arguments as written: {numpy = [shape]} and {tensor = [shape]} become zeros; "{inputs}" the inputs."""
    if isinstance(raw, dict):
        if "numpy" in raw:
            return np.zeros(raw["numpy"], dtype=raw.get("dtype", "float32"))
        return tf.zeros(raw["tensor"], dtype=raw.get("dtype", "float32"))
    if isinstance(raw, list):
        return [_value(v, tf, x) for v in raw]
    return x if raw == "{inputs}" else raw


def describe(value: Any) -> Returns:
    """What a call returned, in the terms a contract states."""
    if value is None:
        return Returns("none")
    if isinstance(value, (list, tuple)):
        shapes = tuple(tuple(int(d) for d in getattr(v, "shape", ())) for v in value)
        return Returns(type(value).__name__, len(value), shapes)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return Returns("tensor", None, (tuple(int(d) for d in value.shape),))
    return Returns("object")


def compare(want: Returns, got: Returns) -> list[str]:
    problems = []
    container_ok = want.container == got.container or (
        want.container == "sequence" and got.container in ("list", "tuple")
    )
    if not container_ok:
        problems.append(f"returned {_a(got.container)}, expected {_a(want.container)}")
        return problems  # length and shapes mean nothing across containers
    if want.length is not None and got.length != want.length:
        problems.append(f"returned {got.length} item(s), expected {want.length}")
    if want.shapes is not None and got.shapes is not None and tuple(want.shapes) != tuple(got.shapes):
        problems.append(f"returned shapes {list(got.shapes)}, expected {list(want.shapes)}")
    return problems


def _run(c: Contract, env: tfenv.TFEnv) -> Any:
    tf, layers = env.tf, env.keras.layers
    x = tf.random.stateless_uniform(c.inputs, seed=(1, 2)) if c.inputs else None
    positional = [getattr(layers, c.cell[0])(**c.cell[1])] if c.cell else []
    obj = getattr(layers, c.layer)(*positional, **c.args)
    if c.model == "sequential":
        obj = env.keras.Sequential([env.keras.Input(batch_shape=tuple(c.inputs or ())), obj])
    if c.call == "new":
        return obj
    if c.prepare == "call":
        obj(x)
    kwargs = {k: _value(v, tf, x) for k, v in c.call_args.items()}
    if c.call == "__call__":
        return obj(x, **kwargs)
    return getattr(obj, c.call)(**kwargs)


def _happened(value: Any, error: BaseException | None) -> str:
    if error is not None:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return f"raised {type(error).__name__}: {first}"
    return f"returned {describe(value).describe()}"


def _differences(
    raises: str | None, match: str | None, returns: Returns | None, value: Any, error: BaseException | None
) -> list[str]:
    """How what happened differs from one stated outcome (a raise, or a return); empty when it is it."""
    if raises is not None:
        if error is None:
            return [f"returned {describe(value).describe()}, expected it to raise {raises}"]
        if not exception_is(raises, match, error):
            return [
                f"{_happened(value, error)}, expected {raises}" + (f" matching {match!r}" if match else "")
            ]
        return []
    if error is not None:
        return [f"{_happened(value, error)}, expected it to return"]
    return compare(returns, describe(value)) if returns is not None else []


def judge(c: Contract) -> ItemOutcome:
    """Make the contract's call and decide the outcome against what it states and declares.

    Where a divergence applies, the call must have the divergence's outcome (strict: having the stated one
    instead means the divergence is gone); where none does, the stated one."""
    started = time.perf_counter()
    env = tfenv.load()
    declared = applicable(c.divergences, "contract", None, "cpu", env)
    value: Any = None
    error: BaseException | None = None
    try:
        with env.tf.device("/CPU:0"):
            value = _run(c, env)
    except Exception as exc:
        error = exc
    stated = _differences(c.raises, c.match, c.returns, value, error)
    problems: list[str] = []
    reason = ""
    if declared:
        matching = [d for d in declared if not _differences(d.raises, d.match, d.returns, value, error)]
        if matching:
            reason = f"known divergence: {matching[0].describe()}"
        elif not stated:
            problems.append(
                f"known divergence is gone: {c.spelled} {_happened(value, error)} as the contract states "
                f"({_stated(c)}); declared instead: {'; '.join(d.describe() for d in declared)}. Remove or "
                "narrow the declaration."
            )
        else:
            for d in declared:
                problems += [
                    f"{c.spelled} {p} (declared: {d.describe()})"
                    for p in _differences(d.raises, d.match, d.returns, value, error)
                ]
            problems.append(f"  (the contract states: {_stated(c)})")
    else:
        problems = [f"{c.spelled} {p}" for p in stated]
    status = "failed" if problems else "xfailed" if reason else "passed"
    where = f"{c.source}:{c.line}" if c.line else str(c.source)
    header = f"contract {c.id!r}   ({where})\n  environment: {env.describe()}\n  call: {c.spelled}"
    record = {
        **ItemId.contract(c.id).record(),
        "outcome": status,
        "kernel": None,
        "reason": reason,
        "returned": None if error is not None else describe(value).container,
        "duration": time.perf_counter() - started,
    }
    return ItemOutcome(status, header, reason, tuple(problems), record=record, environment=env.fingerprint)
