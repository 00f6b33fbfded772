"""Default tolerances against the float64 oracle, per dtype; a case may override them.

An element passes when ``|actual - oracle| <= atol + rtol * |oracle|`` (NumPy's ``isclose`` rule). For
gradients the absolute part scales with the tensor's largest magnitude, because weight gradients are sums
over batch and time and grow with them. The figures are a few hundred machine epsilons of the dtype
(float32 eps 1.2e-7, float16 9.8e-4, bfloat16 7.8e-3) — the error one step of a recurrence accumulates
over tens of steps — and ``docs/tolerances.md`` records the errors measured on the shipped suite.
"""

from __future__ import annotations

from collections.abc import Mapping

from conformance.case import Tolerance

#: dtype -> (values, gradients)
DEFAULTS: Mapping[str, tuple[Tolerance, Tolerance]] = {
    "float64": (Tolerance(atol=1e-10, rtol=1e-9), Tolerance(atol=1e-9, rtol=1e-8)),
    "float32": (Tolerance(atol=2e-5, rtol=1e-4), Tolerance(atol=1e-4, rtol=1e-3)),
    "float16": (Tolerance(atol=2e-2, rtol=2e-2), Tolerance(atol=5e-2, rtol=5e-2)),
    "mixed_float16": (Tolerance(atol=2e-2, rtol=2e-2), Tolerance(atol=5e-2, rtol=5e-2)),
    "bfloat16": (Tolerance(atol=1e-1, rtol=1e-1), Tolerance(atol=2e-1, rtol=2e-1)),
}


def for_item(dtype: str, overrides: Mapping[str, float]) -> tuple[Tolerance, Tolerance]:
    """(values, gradients) tolerance for one item: the dtype's default with the case's overrides."""
    values, grads = DEFAULTS[dtype]
    return (
        Tolerance(atol=overrides.get("atol", values.atol), rtol=overrides.get("rtol", values.rtol)),
        Tolerance(atol=overrides.get("grad_atol", grads.atol), rtol=overrides.get("grad_rtol", grads.rtol)),
    )
