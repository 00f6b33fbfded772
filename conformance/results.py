"""``--conformance-results PATH``: a machine-readable record of a run, one JSON file per environment.

The file is always whole: every write goes to a temporary file that replaces the old one. It is written
when the run starts (``"status": "running"``), every few seconds while items finish, and at the end
(``"complete"``), so a run that crashes half-way leaves a file that says it did not finish, with the items
it got through — never a truncated one.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

FORMAT = 1
FLUSH_SECONDS = 5.0


def write_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def identify(nodeid: str) -> dict[str, Any]:
    """An item's identity from its node id: ``case[variant-path-mode-dtype-device]`` or ``id[contract]``."""
    name = nodeid.rsplit("::", 1)[-1]
    case, _, params = name.partition("[")
    params = params.removesuffix("]")
    if params == "contract":
        return {
            "case": case,
            "variant": "",
            "path": "contract",
            "dtype": "-",
            "device": "cpu",
            "mode": "eager",
        }
    parts = params.rsplit("-", 4) if params.count("-") >= 3 else ["", "?", "?", "?", "?"]
    *variant, path, mode, dtype, device = parts
    return {
        "case": case,
        "variant": "-".join(variant),
        "path": path,
        "dtype": dtype,
        "device": device,
        "mode": mode,
    }


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)
