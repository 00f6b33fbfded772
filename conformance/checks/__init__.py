"""The checks: one module each (registered in :data:`conformance.registry.CHECKS`), the comparison that
explains itself, tolerances, the oracle adapter and baselines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance import registry
from conformance.casefile.case import Case, Tolerance
from conformance.checks.base import CheckResult, Context
from conformance.checks.reference import Reference

if TYPE_CHECKING:
    from conformance.run.execute import PathRun


def evaluate(
    case: Case,
    dtype: str,
    run: PathRun,
    tols: tuple[Tolerance, Tolerance],
    ref: Reference | None = None,
) -> list[CheckResult]:
    """Every check the case asks for, on one run, with the item's (values, gradients) tolerances, against
    the item's reference (or ``ref``: the reference of a known alternative behaviour)."""
    if ref is None:
        ref = Reference.for_item(case, run.data, run.family, run.loop)
    ctx = Context(case, dtype, run, ref, *tols)
    return [registry.check(name)(ctx) for name in case.expect.checks]


__all__ = ["CheckResult", "Context", "evaluate"]
