"""The end-of-run summary: which kernel ran per path and device, declared divergences grouped by reason,
skips in one line, and what a baseline (re)recording changed.

A green run should end in a short summary, not in hundreds of lines that look like failures: each
declared divergence is counted under its reason (``-rx`` still lists every item with its check dump), and
skips are one line of reasons with counts (``-rs`` lists them). Works under xdist: the facts travel in
each report (``wasxfail``, ``longrepr``, ``user_properties``).
"""

from __future__ import annotations

import collections
from typing import Any

import pytest

MAX_LISTED = 20


class RunSummary:
    def __init__(self) -> None:
        self.kernels: collections.Counter[tuple[str, str, str, str]] = collections.Counter()
        self.recorded: collections.Counter[str] = collections.Counter()
        self.changed: list[tuple[str, dict[str, Any]]] = []
        self.divergences: collections.Counter[str] = collections.Counter()
        self.skips: collections.Counter[str] = collections.Counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped:
            self._count_skip(report)
        if report.when != "call":
            return
        for name, record in report.user_properties:
            rec: dict[str, Any] = dict(record) if name == "conformance" else {}  # type: ignore[call-overload]
            if rec.get("kernel"):
                self.kernels[(rec["path"], rec["device"], rec["dtype"], rec["kernel"])] += 1
            if "recorded" in rec:
                self.recorded[rec["recorded"]["status"]] += 1
                if rec["recorded"]["status"] not in ("unchanged", "new", "declared divergence"):
                    self.changed.append((report.nodeid, rec["recorded"]))

    def _count_skip(self, report: pytest.TestReport) -> None:
        reason = getattr(report, "wasxfail", None)
        if reason is not None:
            self.divergences[str(reason).split("\n", 1)[0].removeprefix("reason: ")] += 1
        elif isinstance(report.longrepr, tuple):
            self.skips[str(report.longrepr[2]).removeprefix("Skipped: ")] += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        write = terminalreporter.write_line
        if self.divergences:
            terminalreporter.section(
                f"conformance: {sum(self.divergences.values())} items are declared divergences "
                "(xfailed; -rx lists each)"
            )
            for reason, n in sorted(self.divergences.items(), key=lambda kv: (-kv[1], kv[0])):
                write(f"{n:>4} × {reason}")
        if self.skips:
            reasons = "; ".join(
                f"{n} × {r}" for r, n in sorted(self.skips.items(), key=lambda kv: (-kv[1], kv[0]))
            )
            write(f"conformance: {sum(self.skips.values())} skipped (-rs lists each): {reasons}")
        if self.kernels:
            terminalreporter.section("conformance: kernels that ran (-v: per dtype and mode)")
            if terminalreporter.verbosity > 0:
                for (path, device, dtype, kernel), n in sorted(self.kernels.items()):
                    write(f"{path:<12} {device:<4} {dtype:<14} {kernel}  ({n} items)")
            else:  # one line per path, device and kernel; the modes and dtypes it ran in, counted
                lines: dict[tuple[str, str, str], collections.Counter[str]] = {}
                for (path, device, dtype, kernel), n in self.kernels.items():
                    base = kernel.split(", in tf.function")[0]
                    lines.setdefault((path, device, base), collections.Counter())[dtype] += n
                for (path, device, kernel), dtypes in sorted(lines.items()):
                    kinds = ", ".join(sorted(dtypes))
                    write(f"{path:<12} {device:<4} {kernel}  ({sum(dtypes.values())} items: {kinds})")
        if self.recorded:
            terminalreporter.section("conformance: baseline recorded")
            write(", ".join(f"{n} {status}" for status, n in sorted(self.recorded.items())))
            for nodeid, rec in sorted(self.changed, key=lambda c: -c[1].get("worst", 0.0))[:MAX_LISTED]:
                case = " (the case changed)" if rec.get("case_changed") else ""
                write(
                    f"  {rec['status']}: {nodeid}: {', '.join(rec.get('moved', []))} moved, "
                    f"largest drift {rec.get('worst', 0.0):.3g} of tolerance{case}"
                )
            if len(self.changed) > MAX_LISTED:
                write(f"  ... and {len(self.changed) - MAX_LISTED} more")
