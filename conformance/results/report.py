"""``python -m conformance report RESULTS...``: several results files (one per environment) → one page.

What changed comes first — items whose outcome or kernel differs between environments, new failures,
known divergences that appeared or went, the largest numeric drift — then the whole matrix. A results
file that is missing, unreadable or from a run that did not finish is a column marked as an error, never
dropped. This module reads and analyses; each format is rendered by its own module, registered in
:data:`conformance.registry.REPORT_FORMATS` (Markdown, HTML, JSON).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from conformance.item import ItemId
from conformance.results.file import FORMAT

SHORT = {
    "passed": "pass",
    "failed": "FAIL",
    "xfailed": "xfail",
    "xpassed": "XPASS",
    "skipped": "skip",
    "error": "ERROR",
}
DRIFT_ROWS = 15


@dataclass
class Run:
    """One results file, as far as it could be read."""

    label: str
    source: str
    status: str  # complete | incomplete | missing | broken
    error: str = ""
    environment: dict[str, Any] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    collect_errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.status in ("complete", "incomplete")

    def describe(self) -> str:
        env = self.environment
        if not env:
            return self.error or self.status
        return f"TF {env.get('tensorflow')} · {env.get('keras_flavour')} {env.get('keras')}"


def item_key(record: dict[str, Any]) -> str:
    return ItemId.from_record(record).key


def load(path: Path) -> Run:
    """Read one results file; what cannot be read becomes an error column, with the reason."""
    label = path.stem
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Run(label, str(path), "missing", "results file not found (did the environment run?)")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Run(label, str(path), "broken", f"unreadable results file: {exc}")
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("items"), list):
        return Run(label, str(path), "broken", f"not a results file of format {FORMAT}")
    env = data.get("environment") or {}
    label = env.get("env", {}).get("TOX_ENV_NAME") or label
    status = "complete" if data.get("status") == "complete" else "incomplete"
    error = "" if status == "complete" else "the run did not finish (crashed or was killed): partial results"
    items = {item_key(r): r for r in data["items"] if isinstance(r, dict) and "case" in r}
    return Run(label, str(path), status, error, env, items, list(data.get("collect_errors") or []))


def worst(record: dict[str, Any] | None) -> float | None:
    """The item's largest error / tolerance over its checks (None when nothing was compared)."""
    if not record or not record.get("worst"):
        return None
    return max(record["worst"].values())


@dataclass
class Change:
    item: str
    kind: str  # outcome | kernel | new failure | divergence appeared | divergence gone
    values: list[str]
    detail: str = ""


@dataclass
class Report:
    runs: list[Run]
    keys: list[str]
    changes: list[Change]
    drift: list[tuple[str, list[float | None], float]]
    baseline: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (item, run, summary)

    def cell(self, run: Run, key: str) -> dict[str, Any] | None:
        return run.items.get(key)

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": [
                {k: v for k, v in asdict(r).items() if k != "items"} | {"summary": summary(r)}
                for r in self.runs
            ],
            "changes": [asdict(c) for c in self.changes],
            "drift": [{"item": k, "worst": v, "spread": s} for k, v, s in self.drift],
            "baseline": [{"item": k, "environment": e, **b} for k, e, b in self.baseline],
            "matrix": {k: {r.label: r.items.get(k) for r in self.runs} for k in self.keys},
        }


def summary(run: Run) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in run.items.values():
        counts[record["outcome"]] = counts.get(record["outcome"], 0) + 1
    return counts


def analyse(runs: list[Run]) -> Report:
    """Find what differs between the environments, in the order they were given (first = the baseline)."""
    usable = [r for r in runs if r.usable]
    keys = sorted({k for r in usable for k in r.items})
    changes: list[Change] = []
    drift = []
    for key in keys:
        records = [r.items.get(key) for r in usable]
        outcomes = [rec["outcome"] if rec else "absent" for rec in records]
        present = [o for o in outcomes if o != "absent"]
        if len(set(present)) > 1 or (present and len(present) != len(outcomes)):
            changes.append(Change(key, _kind(outcomes), outcomes, _reason_change(usable, key)))
        kernels = [str(rec.get("kernel")) if rec and rec.get("kernel") else "—" for rec in records]
        if len({k for k in kernels if k != "—"}) > 1:
            changes.append(Change(key, "kernel", kernels))
        ratios = [worst(rec) for rec in records]
        known = [v for v in ratios if v is not None]
        if len(known) >= 2:
            drift.append((key, ratios, max(known) - min(known)))
    drift.sort(key=lambda row: -row[2])
    order = {"new failure": 0, "divergence appeared": 1, "divergence gone": 2, "outcome": 3, "kernel": 4}
    changes.sort(key=lambda c: (order[c.kind], c.item))
    return Report(runs, keys, changes, drift[:DRIFT_ROWS], _baseline_rows(usable))


def _baseline_rows(runs: list[Run]) -> list[tuple[str, str, dict[str, Any]]]:
    """Per item and environment: how far it drifted from the baseline it was compared with."""
    rows = []
    for run in runs:
        for key, rec in run.items.items():
            arrays = rec.get("baseline")
            if not isinstance(arrays, dict) or not arrays:
                continue
            worst_name = max(arrays, key=lambda n: arrays[n]["worst"])
            rows.append(
                (
                    key,
                    run.label,
                    {
                        "worst": arrays[worst_name]["worst"],
                        "array": worst_name,
                        "max_abs": max(a["max_abs"] for a in arrays.values()),
                        "max_ulps": max(a["max_ulps"] for a in arrays.values()),
                        "in_tolerance": all(a["worst"] <= 1 for a in arrays.values()),
                    },
                )
            )
    rows.sort(key=lambda row: -row[2]["worst"])
    return rows


def _kind(outcomes: list[str]) -> str:
    """The most telling name for how an item's outcomes differ from the first (baseline) environment's."""
    base, later = outcomes[0], outcomes[1:]
    if any(o in ("failed", "error") for o in later) and base not in ("failed", "error"):
        return "new failure"
    if any(o == "xfailed" for o in later) and base != "xfailed":
        return "divergence appeared"
    if base == "xfailed" and any(o not in ("xfailed", "absent") for o in later):
        return "divergence gone"
    return "outcome"


def _reason_change(runs: list[Run], key: str) -> str:
    reasons = []
    for run in runs:
        rec = run.items.get(key)
        if rec and rec.get("reason") and rec["outcome"] != "passed":
            first = str(rec["reason"]).strip().splitlines()[0][:240]
            reasons.append(f"{run.label}: {first}")
    return " / ".join(reasons)


def expand(paths: list[Path]) -> list[Path]:
    """Folders stand for the ``*.json`` files in them (sorted); files are kept as given, missing or not."""
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(p.glob("*.json")) if p.is_dir() else [p])
    return out


def build(paths: list[Path]) -> Report:
    return analyse([load(p) for p in expand(paths)])


def cell_text(rec: dict[str, Any] | None) -> str:
    if rec is None:
        return "—"
    text = SHORT.get(rec["outcome"], rec["outcome"])
    ratio = worst(rec)
    return f"{text} ({ratio:.2g})" if ratio is not None and rec["outcome"] in ("passed", "failed") else text
