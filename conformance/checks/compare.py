"""Numeric comparison that explains itself: the numbers a bug report needs, in the order it needs them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from conformance.casefile.case import Tolerance

MAX_INDICES = 5


@dataclass(frozen=True)
class Comparison:
    """How far ``actual`` is from ``expected``; ``message`` is empty when it is within tolerance."""

    what: str
    worst: float  # largest |error| / allowed error over all elements (<= 1 passes)
    message: str
    count: int = 0  # elements beyond tolerance
    steps: tuple[int, ...] | None = None  # the time steps (axis 1 of a 3-d array) where elements differ

    @property
    def ok(self) -> bool:
        return not self.message


def compare(
    actual: np.ndarray, expected: np.ndarray, tol: Tolerance, what: str, *, scale_atol: bool = False
) -> Comparison:
    """Compare two arrays; the message names ``what``, the tolerance, then the numbers.

    With ``scale_atol`` the absolute tolerance is multiplied by ``max(1, max|expected|)`` (gradients).
    """
    __tracebackhide__ = True
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return Comparison(
            what, float("inf"), f"{what}: shape {actual.shape}, expected {expected.shape}", actual.size
        )
    timed = actual.ndim == 3  # (batch, time, features): which steps differ is part of the finding
    atol = tol.atol * max(1.0, float(np.max(np.abs(expected), initial=0.0))) if scale_atol else tol.atol
    allowed = atol + tol.rtol * np.abs(expected)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.abs(actual - expected)
        bad = ~(err <= allowed)  # NaN and inf count as differing
        ratio = np.where(allowed > 0, err / np.where(allowed > 0, allowed, 1), np.where(err > 0, np.inf, 0))
    worst = float(np.nanmax(np.where(np.isnan(ratio), np.inf, ratio), initial=0.0))
    count = int(bad.sum())
    if count == 0:
        return Comparison(what, worst, "")
    total = actual.size
    tol_text = (
        f"atol={atol:.3g}"
        + (f" (={tol.atol:g}*max|expected|)" if scale_atol else "")
        + f", rtol={tol.rtol:g}"
    )
    finite = np.isfinite(actual)
    lines = [f"{what}: {count} of {total} elements differ ({100.0 * count / total:.1f}%) beyond {tol_text}"]
    if not finite.all():
        lines.append(
            f"  non-finite values: {int((~finite).sum())} (NaN {int(np.isnan(actual).sum())}, "
            f"inf {int(np.isinf(actual).sum())})"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = err / np.abs(expected)
    idx = (
        np.unravel_index(int(np.nanargmax(np.where(np.isnan(err), np.inf, err))), err.shape)
        if err.size
        else ()
    )
    lines.append(
        f"  max abs error {float(np.nanmax(err)):.4g} at {tuple(int(i) for i in idx)}: "
        f"got {actual[idx]:.7g}, expected {expected[idx]:.7g}"
    )
    finite_rel = rel[np.isfinite(rel)]
    if finite_rel.size:
        lines.append(
            f"  max rel error {float(finite_rel.max()):.4g}; mean abs error {float(np.nanmean(err)):.4g}"
        )
    lines.append(f"  largest error / tolerance: {worst:.3g}")
    first = [tuple(int(i) for i in ix) for ix in np.argwhere(bad)[:MAX_INDICES]]
    more = f" (+{count - len(first)} more)" if count > len(first) else ""
    lines.append(f"  first differing indices: {', '.join(map(str, first))}{more}")
    steps = tuple(int(t) for t in np.flatnonzero(bad.any(axis=(0, 2)))) if timed else None
    if steps is not None:
        lines.append(f"  differing time steps: {ranges(steps)} of {actual.shape[1]}")
    return Comparison(what, worst, "\n".join(lines), count, steps)


def ranges(steps: tuple[int, ...]) -> str:
    """(0, 1, 2, 5) -> '0-2, 5'."""
    out: list[str] = []
    for s in steps:
        if out and s == int(out[-1].rsplit("-", 1)[-1]) + 1:
            out[-1] = f"{out[-1].split('-')[0]}-{s}"
        else:
            out.append(str(s))
    return ", ".join(out)
