"""The report as JSON (the analysis, plus the whole matrix)."""

from __future__ import annotations

import json

from conformance.results.report import Report


def render(report: Report) -> str:
    return json.dumps(report.to_json(), indent=1, default=str) + "\n"
