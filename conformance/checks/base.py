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


@dataclass(frozen=True)
class Finding:
    """One thing a check found wrong: *what* (``subject``: "output", "state.h", "kernel", "chunks.output",
    ...) and, for a sequence, at which time steps. A declared divergence excuses findings by check and
    subject (and steps, and message), never a whole check."""

    check: str
    subject: str
    message: str
    steps: tuple[int, ...] | None = None
    vs_reference: bool = False  # a comparison with the reference (an alternative reference can explain it)

    @property
    def name(self) -> str:
        return f"{self.check}:{self.subject}"


@dataclass
class CheckResult:
    name: str
    findings: list[Finding] = field(default_factory=list)
    not_applicable: str = ""  # why the check had nothing to judge on this item
    worst: float = 0.0  # largest error / tolerance among the comparisons made
    details: dict[str, Any] = field(default_factory=dict)  # machine-readable extras for results files

    @property
    def failed(self) -> bool:
        return bool(self.findings)

    @property
    def problems(self) -> list[str]:
        return [f.message for f in self.findings]

    def add(
        self, subject: str, message: str, *, steps: tuple[int, ...] | None = None, vs_reference: bool = False
    ) -> None:
        self.findings.append(Finding(self.name, subject, message, steps, vs_reference))

    def judge(
        self,
        actual: np.ndarray,
        expected: np.ndarray,
        tol: Tolerance,
        what: str,
        *,
        subject: str,
        vs_reference: bool = False,
        scale_atol: bool = False,
    ) -> bool:
        """Compare; a difference beyond tolerance is a finding on ``subject``, with its time steps."""
        __tracebackhide__ = True
        cmp = compare(actual, expected, tol, what, scale_atol=scale_atol)
        self.worst = max(self.worst, cmp.worst)
        if not cmp.ok:
            self.add(subject, cmp.message, steps=cmp.steps, vs_reference=vs_reference)
        return cmp.ok

    def raised(self, error: Raised | None, subject: str = "raised") -> bool:
        """A probe that raised is the check's finding; say so, and the caller stops judging."""
        if error is None:
            return False
        self.add(subject, str(error))
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
