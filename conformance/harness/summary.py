"""The end-of-run summary: which kernel ran per path and device, and what a baseline (re)recording changed.

Works under xdist: the facts travel in each report's ``user_properties``.
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

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, record in report.user_properties:
            rec: dict[str, Any] = dict(record) if name == "conformance" else {}  # type: ignore[call-overload]
            if rec.get("kernel"):
                self.kernels[(rec["path"], rec["device"], rec["dtype"], rec["kernel"])] += 1
            if "recorded" in rec:
                self.recorded[rec["recorded"]["status"]] += 1
                if rec["recorded"]["status"] != "unchanged" and rec["recorded"]["status"] != "new":
                    self.changed.append((report.nodeid, rec["recorded"]))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        write = terminalreporter.write_line
        if self.kernels:
            terminalreporter.section("conformance: kernels that ran")
            for (path, device, dtype, kernel), n in sorted(self.kernels.items()):
                write(f"{path:<12} {device:<4} {dtype:<14} {kernel}  ({n} items)")
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
