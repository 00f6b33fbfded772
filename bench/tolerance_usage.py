"""Print how much of each default tolerance the shipped suite uses, per dtype and check.

Usage: python bench/tolerance_usage.py [pytest args...]   (default: cases/ on CPU)

The figure is the largest |error| / allowed error over every compared element of every item (1.0 is the
edge of failing). It is what docs/tolerances.md quotes to justify the table in conformance/tolerance.py.
"""

from __future__ import annotations

import collections
import sys
from typing import Any

import pytest


class Usage:
    def __init__(self) -> None:
        self.worst: dict[tuple[str, str], float] = collections.defaultdict(float)
        self.items: collections.Counter[str] = collections.Counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, record in report.user_properties:
            if name != "conformance" or report.when != "call":
                continue
            rec: dict[str, Any] = record
            self.items[rec["dtype"]] += 1
            for check, ratio in rec.get("worst", {}).items():
                key = (rec["dtype"], check)
                self.worst[key] = max(self.worst[key], ratio)


def main() -> int:
    usage = Usage()
    args = sys.argv[1:] or ["cases", "--conformance-devices=cpu"]
    code = pytest.main(["-q", "-p", "no:cacheprovider", *args], plugins=[usage])
    checks = sorted({c for _, c in usage.worst})
    print("\nlargest error / tolerance (1.0 = the edge of failing)")
    print(f"{'dtype':<15}{'items':>6}" + "".join(f"{c:>15}" for c in checks))
    for dtype in sorted(usage.items):
        cells = "".join(f"{usage.worst.get((dtype, c), 0.0):>15.3g}" for c in checks)
        print(f"{dtype:<15}{usage.items[dtype]:>6}{cells}")
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
