"""``round_trip``: in a model context, the model saved and loaded again in each format the case asks for
(``expect.saving``), with each loader the running Keras offers, computes the oracle's output and final
states, holds the saved weights (a weight that differs is diagnosed: not loaded, transposed, gate blocks
permuted) and keeps every constructor argument of every layer (``config.*``). A loader that refuses is a
finding naming the format, the loader and the exception; one this Keras does not have is said."""

from __future__ import annotations

from conformance.checks.base import CheckResult, Context
from conformance.checks.loaded import judge

FUSED = ("UNIDIRECTIONAL_SEQUENCE_", "BIDIRECTIONAL_SEQUENCE_")


def _tflite_ops(r: CheckResult, ops: list[str], expected: str | None) -> None:
    """``expect.tflite``: the converter fused the layer into one sequence op, or made a WHILE loop."""
    fused = [op for op in ops if op.startswith(FUSED)]
    got = "fused" if fused else "loop" if "WHILE" in ops else "other"
    if expected is not None and got != expected:
        r.add(
            "tflite.ops",
            f"tflite.interpreter: the converted model is {got!r}, the case expects {expected!r}: its ops are "
            f"{', '.join(ops)}",
        )


def check(ctx: Context) -> CheckResult:
    r = CheckResult("round_trip")
    model = ctx.run.model
    if model is None:
        r.not_applicable = "the layer is called alone (context 'call'): there is no model to save"
        return r
    if model.not_saved:
        r.not_applicable = model.not_saved
        return r
    verdicts = {}
    for loaded in model.saved:
        verdicts[loaded.subject] = judge(
            r, loaded, ctx.ref, ctx.values_tol, ctx.run.family.state_names, ctx.case.units
        )
        if loaded.unavailable:
            verdicts[loaded.subject] += f": {loaded.unavailable}"
        if loaded.ops:
            verdicts[loaded.subject] += f": ops {', '.join(loaded.ops)}"
            _tflite_ops(r, loaded.ops, ctx.case.expect.tflite)
    r.details = verdicts
    return r
