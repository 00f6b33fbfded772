"""Default tolerances against the float64 oracle, per dtype (and TF32 on GPU); a case may override them.

An element passes when ``|actual - oracle| <= atol + rtol * |oracle|`` (NumPy's ``isclose`` rule). For
gradients the absolute part scales with the tensor's largest magnitude (the inputs' gradient: with each
time step's, see :mod:`conformance.checks.gradient`), because weight gradients are sums over batch and
time and grow with them.

Each figure is set from the largest error measured on the whole shipped suite on TF 2.15 and 2.21
(``bench/tolerances.py`` renders docs/tolerances.md from the runs' results files), with at least 2x
headroom, and so that the output error each dtype is to catch fails (``tests/test_tolerances.py``):
float64 1e-9 relative, float32 1e-4, float16 and mixed_float16 1%, bfloat16 6% (its rounding alone
reaches 1.5%, so 3% cannot be told from it with headroom).
"""

from __future__ import annotations

from collections.abc import Mapping

from conformance.casefile.case import Tolerance

#: dtype -> (values, gradients)
DEFAULTS: Mapping[str, tuple[Tolerance, Tolerance]] = {
    "float64": (Tolerance(atol=1e-12, rtol=1e-10), Tolerance(atol=1e-11, rtol=1e-9)),
    "float32": (Tolerance(atol=1e-6, rtol=1e-5), Tolerance(atol=1e-5, rtol=1e-4)),
    "float16": (Tolerance(atol=1e-3, rtol=2e-3), Tolerance(atol=1e-2, rtol=1e-2)),
    "mixed_float16": (Tolerance(atol=1.5e-3, rtol=2e-3), Tolerance(atol=1e-2, rtol=1e-2)),
    "bfloat16": (Tolerance(atol=1e-2, rtol=1e-2), Tolerance(atol=4e-2, rtol=4e-2)),
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
