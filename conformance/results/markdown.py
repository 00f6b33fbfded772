"""The report as Markdown: a CI job summary or a PR comment. One function per section."""

from __future__ import annotations

from collections.abc import Iterable

from conformance.results.report import Report, Run, cell_text, summary


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def render(report: Report) -> str:
    out = ["# Conformance report", ""]
    for section in (_environments, _changes, _drift, _baseline, _matrix):
        out += section(report)
    return "\n".join(out) + "\n"


def _environments(report: Report) -> list[str]:
    runs = report.runs

    def status(r: Run) -> str:
        return "ok" if r.status == "complete" else f"**ERROR: {_md(r.error)}**"

    def outcomes(r: Run) -> str:
        return _md(", ".join(f"{n} {k}" for k, n in sorted(summary(r).items())) or "—")

    return _table(
        ["", *(_md(r.label) for r in runs)],
        [
            ["environment", *(_md(r.describe()) for r in runs)],
            ["status", *(status(r) for r in runs)],
            ["outcomes", *(outcomes(r) for r in runs)],
            ["collection errors", *(str(len(r.collect_errors)) for r in runs)],
        ],
    )


def _changes(report: Report) -> list[str]:
    out = ["", f"## What changed ({len(report.changes)})", ""]
    if not report.changes:
        return [*out, "Nothing: every item has the same outcome and kernel in every environment."]
    usable = [r for r in report.runs if r.usable]
    rows = ([_md(c.item), c.kind, *(_md(v) for v in c.values), _md(c.detail)] for c in report.changes)
    return out + _table(["item", "change", *(_md(r.label) for r in usable), "detail"], rows)


def _drift(report: Report) -> list[str]:
    if not report.drift:
        return []
    usable = [r for r in report.runs if r.usable]
    rows = (
        [_md(key), *("—" if v is None else f"{v:.3g}" for v in ratios), f"{spread:.3g}"]
        for key, ratios, spread in report.drift
    )
    header = ["item", *(_md(r.label) for r in usable), "spread"]
    return [
        "",
        "## Largest numeric drift (largest error ÷ tolerance per environment)",
        "",
        *_table(header, rows),
    ]


def _baseline(report: Report) -> list[str]:
    if not report.baseline:
        return []
    beyond = sum(1 for *_, b in report.baseline if not b["in_tolerance"])
    rows = (
        [
            _md(key),
            _md(label),
            "yes" if b["in_tolerance"] else "**no**",
            f"{b['worst']:.3g} ({b['array']})",
            f"{b['max_abs']:.3g}",
            f"{b['max_ulps']:.3g}",
        ]
        for key, label, b in report.baseline
    )
    header = [
        "item",
        "environment",
        "in tolerance",
        "largest error ÷ tolerance (array)",
        "max abs",
        "max ULPs",
    ]
    title = f"## Drift from the baseline ({len(report.baseline)} compared, {beyond} beyond tolerance)"
    return ["", title, "", *_table(header, rows)]


def _matrix(report: Report) -> list[str]:
    runs = report.runs
    rows = (
        [_md(key), *(cell_text(r.items.get(key)) if r.usable else "n/a" for r in runs)] for key in report.keys
    )
    return [
        "",
        "## All items",
        "",
        "Cells: outcome (largest error ÷ tolerance; 1 is the edge of failing).",
        "",
        *_table(["item", *(_md(r.label) for r in runs)], rows),
    ]
