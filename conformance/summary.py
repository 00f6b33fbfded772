"""The end-of-run summary: which kernel ran for each path and device (part of the verdict)."""

from __future__ import annotations

import collections
from typing import Any

import pytest


class KernelSummary:
    """Counts the kernels items report (works under xdist: user_properties travel with the reports)."""

    def __init__(self) -> None:
        self.kernels: collections.Counter[tuple[str, str, str, str]] = collections.Counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, record in report.user_properties:
            rec: dict[str, Any] = dict(record) if name == "conformance" else {}  # type: ignore[call-overload]
            if rec.get("kernel"):
                self.kernels[(rec["path"], rec["device"], rec["dtype"], rec["kernel"])] += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.kernels:
            return
        terminalreporter.section("conformance: kernels that ran")
        for (path, device, dtype, kernel), n in sorted(self.kernels.items()):
            terminalreporter.write_line(f"{path:<12} {device:<4} {dtype:<14} {kernel}  ({n} items)")
