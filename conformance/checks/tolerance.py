"""Default tolerances against the float64 oracle, per dtype (and TF32 on GPU); a case may override them.

An element passes when ``|actual - oracle| <= atol + rtol * |oracle|`` (NumPy's ``isclose`` rule). For
gradients the absolute part scales with the tensor's largest magnitude, because weight gradients are sums
over batch and time and grow with them. Each figure is set 10-50x above the largest error measured on the
shipped suite (``python bench/tolerance_usage.py``, recorded in docs/tolerances.md), so that a real
regression — typically one machine epsilon of the dtype or more per step — fails, while ordinary
reassociation of floating-point sums does not.
"""

from __future__ import annotations

from collections.abc import Mapping

from conformance.casefile.case import Tolerance

#: dtype -> (values, gradients)
DEFAULTS: Mapping[str, tuple[Tolerance, Tolerance]] = {
    "float64": (Tolerance(atol=1e-12, rtol=1e-10), Tolerance(atol=1e-11, rtol=1e-9)),
    "float32": (Tolerance(atol=1e-6, rtol=1e-5), Tolerance(atol=1e-5, rtol=1e-4)),
    "float16": (Tolerance(atol=5e-3, rtol=5e-3), Tolerance(atol=1e-2, rtol=1e-2)),
    "mixed_float16": (Tolerance(atol=5e-3, rtol=5e-3), Tolerance(atol=1e-2, rtol=1e-2)),
    "bfloat16": (Tolerance(atol=4e-2, rtol=4e-2), Tolerance(atol=8e-2, rtol=8e-2)),
}
#: float32 on a GPU with TensorFloat-32 matmuls (TF's default on Ampere and newer): a 10-bit mantissa.
TF32 = (Tolerance(atol=2e-3, rtol=2e-3), Tolerance(atol=5e-3, rtol=5e-3))


def for_item(
    dtype: str, overrides: Mapping[str, float], *, tf32: bool = False
) -> tuple[Tolerance, Tolerance]:
    """(values, gradients) tolerance for one item: the default for its dtype, then the case's overrides."""
    values, grads = TF32 if tf32 and dtype == "float32" else DEFAULTS[dtype]
    return (
        Tolerance(atol=overrides.get("atol", values.atol), rtol=overrides.get("rtol", values.rtol)),
        Tolerance(atol=overrides.get("grad_atol", grads.atol), rtol=overrides.get("grad_rtol", grads.rtol)),
    )
