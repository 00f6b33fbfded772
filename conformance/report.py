"""``python -m conformance report RESULTS...``: several results files (one per environment) → one page.

What changed comes first — items whose outcome or kernel differs between environments, new failures,
known divergences that appeared or went, the largest numeric drift — then the whole matrix. A results
file that is missing, unreadable or from a run that did not finish is a column marked as an error, never
dropped. Formats: Markdown (a CI job summary or PR comment), self-contained HTML, JSON.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from conformance.results import FORMAT

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
    variant = f"[{record['variant']}]" if record.get("variant") else ""
    return (
        f"{record['case']}{variant} · {record['path']} · {record['dtype']} · {record['device']} · "
        f"{record.get('mode', 'eager')}"
    )


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


# -- Markdown ---------------------------------------------------------------------------------------
def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _cell_text(rec: dict[str, Any] | None) -> str:
    if rec is None:
        return "—"
    text = SHORT.get(rec["outcome"], rec["outcome"])
    ratio = worst(rec)
    return f"{text} ({ratio:.2g})" if ratio is not None and rec["outcome"] in ("passed", "failed") else text


def render_markdown(report: Report) -> str:
    runs = report.runs
    out = ["# Conformance report", ""]
    out += ["| | " + " | ".join(_md(r.label) for r in runs) + " |", "|---|" + "---|" * len(runs)]
    out.append("| environment | " + " | ".join(_md(r.describe()) for r in runs) + " |")
    out.append(
        "| status | "
        + " | ".join("ok" if r.status == "complete" else f"**ERROR: {_md(r.error)}**" for r in runs)
        + " |"
    )
    out.append(
        "| outcomes | "
        + " | ".join(_md(", ".join(f"{n} {k}" for k, n in sorted(summary(r).items())) or "—") for r in runs)
        + " |"
    )
    out.append("| collection errors | " + " | ".join(str(len(r.collect_errors)) for r in runs) + " |")
    out += ["", f"## What changed ({len(report.changes)})", ""]
    usable = [r for r in runs if r.usable]
    if report.changes:
        out += [
            "| item | change | " + " | ".join(_md(r.label) for r in usable) + " | detail |",
            "|---|---|" + "---|" * len(usable) + "---|",
        ]
        for c in report.changes:
            out.append(
                f"| {_md(c.item)} | {c.kind} | "
                + " | ".join(_md(v) for v in c.values)
                + f" | {_md(c.detail)} |"
            )
    else:
        out.append("Nothing: every item has the same outcome and kernel in every environment.")
    if report.drift:
        out += [
            "",
            "## Largest numeric drift (largest error ÷ tolerance per environment)",
            "",
            "| item | " + " | ".join(_md(r.label) for r in usable) + " | spread |",
            "|---|" + "---|" * len(usable) + "---|",
        ]
        for key, ratios, spread in report.drift:
            vals = " | ".join("—" if v is None else f"{v:.3g}" for v in ratios)
            out.append(f"| {_md(key)} | {vals} | {spread:.3g} |")
    if report.baseline:
        beyond = sum(1 for *_, b in report.baseline if not b["in_tolerance"])
        out += [
            "",
            f"## Drift from the baseline ({len(report.baseline)} compared, {beyond} beyond tolerance)",
            "",
            "| item | environment | in tolerance | largest error ÷ tolerance (array) | max abs | max ULPs |",
            "|---|---|---|---|---|---|",
        ]
        for key, label, b in report.baseline:
            out.append(
                f"| {_md(key)} | {_md(label)} | {'yes' if b['in_tolerance'] else '**no**'} | "
                f"{b['worst']:.3g} ({b['array']}) | {b['max_abs']:.3g} | {b['max_ulps']:.3g} |"
            )
    out += [
        "",
        "## All items",
        "",
        "Cells: outcome (largest error ÷ tolerance; 1 is the edge of failing).",
        "",
        "| item | " + " | ".join(_md(r.label) for r in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    for key in report.keys:
        cells = [_cell_text(r.items.get(key)) if r.usable else "n/a" for r in runs]
        out.append(f"| {_md(key)} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


# -- HTML -------------------------------------------------------------------------------------------
_CSS = """body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#eee;cursor:pointer}
.err{color:#a00;font-weight:bold}.FAIL,.ERROR{font-weight:bold}.muted{color:#888}"""
_JS = """document.querySelectorAll('table.sortable th').forEach((th,i)=>th.onclick=()=>{
const t=th.closest('table'),b=t.tBodies[0],rows=[...b.rows],d=th.dataset.dir=th.dataset.dir==='a'?'d':'a';
const v=r=>{const c=r.cells[i];return c.dataset.v!==undefined?parseFloat(c.dataset.v):c.textContent};
rows.sort((x,y)=>{const a=v(x),c=v(y);return(a>c?1:a<c?-1:0)*(d==='a'?1:-1)});
rows.forEach(r=>b.appendChild(r))});"""


def _colour(ratio: float | None) -> str:
    """Green at 0, yellow at 0.5, red at 1 and beyond: how much of the tolerance an item used."""
    if ratio is None:
        return ""
    x = max(0.0, min(1.0, ratio))
    hue = 120 * (1 - x)
    return f"background:hsl({hue:.0f},70%,85%)"


def render_html(report: Report) -> str:
    esc = html.escape
    runs, usable = report.runs, [r for r in report.runs if r.usable]
    parts = [
        "<!doctype html><meta charset=utf-8><title>Conformance report</title>",
        f"<style>{_CSS}</style>",
        "<h1>Conformance report</h1><table><tr><th></th>"
        + "".join(f"<th>{esc(r.label)}</th>" for r in runs)
        + "</tr>",
        "<tr><td>environment</td>" + "".join(f"<td>{esc(r.describe())}</td>" for r in runs) + "</tr>",
        "<tr><td>status</td>"
        + "".join(
            "<td>ok</td>" if r.status == "complete" else f"<td class=err>ERROR: {esc(r.error)}</td>"
            for r in runs
        )
        + "</tr>",
        "<tr><td>outcomes</td>"
        + "".join(
            f"<td>{esc(', '.join(f'{n} {k}' for k, n in sorted(summary(r).items())))}</td>" for r in runs
        )
        + "</tr></table>",
        f"<h2>What changed ({len(report.changes)})</h2>",
    ]
    if report.changes:
        parts.append(
            "<table class=sortable><thead><tr><th>item</th><th>change</th>"
            + "".join(f"<th>{esc(r.label)}</th>" for r in usable)
            + "<th>detail</th></tr></thead><tbody>"
        )
        for c in report.changes:
            parts.append(
                f"<tr><td>{esc(c.item)}</td><td>{esc(c.kind)}</td>"
                + "".join(f"<td>{esc(v)}</td>" for v in c.values)
                + f"<td>{esc(c.detail)}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append("<p>Nothing: every item has the same outcome and kernel in every environment.</p>")
    if report.baseline:
        parts.append(
            "<h2>Drift from the baseline</h2><table class=sortable><thead><tr><th>item</th>"
            "<th>environment</th><th>in tolerance</th><th>largest error ÷ tolerance</th><th>array</th>"
            "<th>max abs</th><th>max ULPs</th></tr></thead><tbody>"
        )
        for key, label, b in report.baseline:
            parts.append(
                f"<tr><td>{esc(key)}</td><td>{esc(label)}</td><td>{'yes' if b['in_tolerance'] else 'NO'}"
                f'</td><td style="{_colour(b["worst"])}" data-v="{b["worst"]}">{b["worst"]:.3g}</td>'
                f'<td>{esc(b["array"])}</td><td data-v="{b["max_abs"]}">{b["max_abs"]:.3g}</td>'
                f'<td data-v="{b["max_ulps"]}">{b["max_ulps"]:.3g}</td></tr>'
            )
        parts.append("</tbody></table>")
    parts.append(
        "<h2>All items</h2><p class=muted>Cell colour: largest error ÷ tolerance (green 0, red ≥ 1). "
        "Click a header to sort.</p><table class=sortable><thead><tr><th>item</th>"
        + "".join(f"<th>{esc(r.label)}</th>" for r in runs)
        + "</tr></thead><tbody>"
    )
    for key in report.keys:
        cells = []
        for r in runs:
            rec = r.items.get(key) if r.usable else None
            ratio = worst(rec)
            text = _cell_text(rec) if r.usable else "n/a"
            title = esc(str(rec.get("reason") or rec.get("kernel") or "")) if rec else ""
            cls = SHORT.get(rec["outcome"], "") if rec else ""
            cells.append(
                f'<td class="{cls}" style="{_colour(ratio)}" data-v="{-1 if ratio is None else ratio}" '
                f'title="{title}">{esc(text)}</td>'
            )
        parts.append(f"<tr><td>{esc(key)}</td>{''.join(cells)}</tr>")
    parts.append(f"</tbody></table><script>{_JS}</script>")
    return "\n".join(parts) + "\n"


def expand(paths: list[Path]) -> list[Path]:
    """Folders stand for the ``*.json`` files in them (sorted); files are kept as given, missing or not."""
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(p.glob("*.json")) if p.is_dir() else [p])
    return out


def build(paths: list[Path]) -> Report:
    return analyse([load(p) for p in expand(paths)])
