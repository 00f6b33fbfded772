"""What every check is given and returns.

A check is a function ``check(ctx: Context) -> CheckResult`` in its own module, registered in
:data:`conformance.registry.CHECKS`. Each judges the item's one run on its own; an item reports every
failing check together, so one run tells everything that is wrong. Problems name the call that produced
the value, then the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from conformance.casefile.case import Case, Tolerance
from conformance.checks.compare import compare

if TYPE_CHECKING:
    from conformance.checks.reference import Reference
    from conformance.run.execute import PathRun
    from conformance.run.probes import Raised


@dataclass
class CheckResult:
    name: str
    problems: list[str] = field(default_factory=list)
    not_applicable: str = ""  # why the check had nothing to judge on this item
    worst: float = 0.0  # largest error / tolerance among the comparisons made
    details: dict[str, Any] = field(default_factory=dict)  # machine-readable extras for results files

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    def judge(
        self, actual: np.ndarray, expected: np.ndarray, tol: Tolerance, what: str, *, scale_atol: bool = False
    ) -> bool:
        __tracebackhide__ = True
        cmp = compare(actual, expected, tol, what, scale_atol=scale_atol)
        self.worst = max(self.worst, cmp.worst)
        if not cmp.ok:
            self.problems.append(cmp.message)
        return cmp.ok

    def raised(self, error: Raised | None) -> bool:
        """A probe that raised is the check's finding; say so, and the caller stops judging."""
        if error is None:
            return False
        self.problems.append(str(error))
        return True


@dataclass
class Context:
    """What every check may look at."""

    case: Case
    dtype: str
    run: PathRun
    ref: Reference | None  # None: a custom cell's manual loop, which is its own reference
    values_tol: Tolerance
    grads_tol: Tolerance

    @property
    def call(self) -> str:
        return self.run.main_call
