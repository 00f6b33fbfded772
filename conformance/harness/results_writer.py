"""The pytest side of ``--conformance-results``: collects item reports (on the xdist controller too) and
keeps the results file current (see :mod:`conformance.results.file` for the format)."""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.results.file import FORMAT, identify, write_atomic

FLUSH_SECONDS = 5.0


def _outcome(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.when != "call" and report.failed:
        return "error"
    return report.outcome


class ResultsWriter:
    """Collects item reports (on the xdist controller too) and keeps the results file current."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: dict[str, dict[str, Any]] = {}
        self.collect_errors: list[dict[str, str]] = []
        self.environment: dict[str, Any] = {}
        self.started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.last_flush = 0.0

    def document(self, status: str, exitstatus: int | None = None) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "status": status,
            "exitstatus": exitstatus,
            "started": self.started,
            "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            if status != "running"
            else None,
            "environment": self.environment,
            "collect_errors": self.collect_errors,
            "items": sorted(self.items.values(), key=lambda r: r["nodeid"]),
        }

    def flush(self, status: str = "running", exitstatus: int | None = None) -> None:
        write_atomic(self.path, self.document(status, exitstatus))
        self.last_flush = time.monotonic()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.flush()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append({"nodeid": report.nodeid, "message": str(report.longrepr)[:4000]})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props: dict[str, Any] = dict(report.user_properties)
        record: dict[str, Any] | None = props.get("conformance")
        if record is None:
            if not report.failed:
                return
            # No record: the item died before making one (its xdist worker crashed). Keep it, as an error.
            record = identify(report.nodeid)
        if "conformance_env" in props and not self.environment:
            self.environment = props["conformance_env"]
        outcome = _outcome(report)
        if report.when == "call" or outcome in ("skipped", "error"):
            reason = getattr(report, "wasxfail", "") or ""
            if report.failed or (report.skipped and not reason):
                reason = report.longreprtext[:4000] if report.failed else _skip_reason(report)
            self.items[report.nodeid] = {
                **record,
                "nodeid": report.nodeid,
                "outcome": outcome,
                "reason": reason,
                "duration": round(report.duration, 4),
            }
        if time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.flush("complete", int(exitstatus))


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)
