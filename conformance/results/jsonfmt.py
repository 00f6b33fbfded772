"""The report as JSON (the verdict, the transitions and their causes, drift, and the whole matrix)."""

from __future__ import annotations

import json

from conformance.results.report import Report, to_json


def render(report: Report) -> str:
    return json.dumps(to_json(report), indent=1, default=str) + "\n"
