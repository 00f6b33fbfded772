"""Judging a saved-and-loaded model (round_trip within a release, carry_over across releases): it loads,
computes the oracle's output and final states, holds the saved weights, and keeps every constructor
argument. A weight that differs is diagnosed (not loaded, transposed, gate blocks permuted)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from conformance.casefile.case import Tolerance
from conformance.checks.base import CheckResult

if TYPE_CHECKING:
    from conformance.checks.reference import Reference
    from conformance.run.saving.base import Loaded


def diagnose(got: np.ndarray, want: np.ndarray, fresh: np.ndarray | None, units: int) -> str:
    """What a loaded weight that differs from the saved one looks like — the loader bugs users meet."""
    if got.shape != want.shape:
        return f"shape {got.shape}, the saved weight's {want.shape}"
    if not np.any(got) and np.any(want):
        return "all zeros: not loaded"
    if (
        fresh is not None
        and fresh.shape == got.shape
        and np.array_equal(got, fresh)
        and not np.array_equal(got, want)
    ):
        return "still the fresh model's initial values: not loaded"
    if got.ndim == 2 and np.array_equal(got, want.T.reshape(got.shape)):
        return "the saved weight transposed (read in the other axis order)"
    n = got.shape[-1] // units if units and got.shape[-1] % units == 0 else 1
    if n > 1:
        blocks = np.split(want, n, axis=-1)
        order = []
        for block in np.split(got, n, axis=-1):
            match = [j for j, b in enumerate(blocks) if np.array_equal(block, b)]
            order.append(match[0] if match else None)
        if None not in order and order != list(range(n)):
            return f"gate blocks permuted: the {n} blocks of {units} hold the saved blocks {order}"
    if np.array_equal(np.sort(got, axis=None), np.sort(want, axis=None)):
        return "the saved values in another order"
    return "other values"


def judge(
    r: CheckResult,
    loaded: Loaded,
    ref: Reference | None,
    tol: Tolerance,
    state_names: tuple[str, ...],
    units: int,
    prefix: str = "",
    against: str = "",
) -> str:
    """Findings on ``{prefix}{format}.{loader}`` (and ``.{weight}``); returns the verdict for the matrix:
    agrees, differs, refuses or unavailable."""
    __tracebackhide__ = True
    subject = prefix + loaded.subject
    where = f"{subject}{against}"
    if loaded.unavailable:
        return "unavailable"
    before = len(r.findings)
    for lost in loaded.lost:  # said even when the rebuilt model then refuses the weights
        r.add("config.*", f"{where}: a constructor argument did not survive the rebuild: {lost}")
    if loaded.raised is not None:
        r.add(subject, f"{where}: refused: {loaded.raised}")
        return "refuses"
    if ref is not None and loaded.output is not None:
        r.judge(
            loaded.output,
            ref.output(),
            tol,
            f"{where}: output of {loaded.call} vs {ref.label}",
            subject=subject,
            vs_reference=True,
        )
        for name, got, want in zip(state_names, loaded.states, ref.main.states):
            r.judge(got, want, tol, f"{where}: final {name} of {loaded.call} vs {ref.label}", subject=subject)
    if loaded.weights is not None and loaded.expected is not None:
        if len(loaded.weights) != len(loaded.expected):
            r.add(
                subject,
                f"{where}: the loaded model has {len(loaded.weights)} weights, "
                f"the saved one {len(loaded.expected)}",
            )
        for i, ((_, got), (name, want)) in enumerate(zip(loaded.weights, loaded.expected)):
            if got.shape == want.shape and np.array_equal(got, want):
                continue
            fresh = loaded.fresh[i] if loaded.fresh is not None and i < len(loaded.fresh) else None
            differ = int(np.sum(got != want)) if got.shape == want.shape else got.size
            r.add(
                f"{subject}.{name}",
                f"{where}: weight {name} as loaded: {differ} of {want.size} elements differ from the saved "
                f"model's; {diagnose(got, want, fresh, units)}",
            )
    return "agrees" if len(r.findings) == before else "differs"
