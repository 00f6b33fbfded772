"""``kernel``: the fused layer ran the kernel the case expects — observed while it ran
(:mod:`conformance.run.kernels`), so a layer that silently falls back to a slower kernel fails."""

from __future__ import annotations

from conformance.checks.base import CheckResult, Context
from conformance.run import kernels

_SAID = {
    "generic": "the generic loop over the cell",
    "fused_cpu": "Keras 2's fused CPU kernel (standard_lstm / standard_gru)",
    "cudnn": "cuDNN",
}


def check(ctx: Context) -> CheckResult:
    r = CheckResult("kernel")
    run, want = ctx.run, ctx.case.expect.kernel
    if run.path != "fused_layer" or ctx.case.custom is not None:
        r.not_applicable = "expect.kernel is about the built-in fused layer"
        return r
    has_fused = run.family.keras2_kernel is not None
    expected = kernels.expected_fused(run.flavour, run.device, has_fused) if want == "fused" else "generic"
    if run.kernel.kind != expected:
        why = f"expect.kernel = {want!r} on {run.flavour} on the {run.device.upper()}"
        r.add(
            "kernel",
            f"{_SAID[expected]} was to run ({why}), but {run.kernel.text} ran\n"
            f"  observed: {run.kernel.evidence} [{ctx.call}]",
        )
    return r
