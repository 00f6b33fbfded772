"""The report as Markdown: a CI job summary or a PR comment. Its first line is the verdict; "What changed"
is one table row per cause, the items folded under it (``<details>``)."""

from __future__ import annotations

from collections.abc import Iterable

from conformance.results.report import SAME, Report, Run, Transition, cell_text, columns, saved_cell, summary

MAX_LISTED = 200  # items listed under one cause (the rest are counted)


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def render(report: Report) -> str:
    out = ["# Conformance report", "", report.verdict(), ""]
    for section in (_environments, _changes, _drift, _baseline, _saved, _matrix):
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


def _transition(t: Transition) -> list[str]:
    out = ["", f"### {_md(t.summary())}", ""]
    causes = t.causes
    if not causes:
        return out
    out += _table(
        ["change", "items", "by context", "cause"],
        ([c.kind, str(c.count), c.by_context(), _md(c.cause)] for c in causes),
    )
    for c in causes:
        listed = c.keys[:MAX_LISTED]
        more = f"\n- … and {c.count - len(listed)} more" if c.count > len(listed) else ""
        out += [
            "",
            f"<details><summary>{c.count} × {c.kind}: {_md(c.cause)[:120]}</summary>",
            "",
            *(f"- {_md(k)}" for k in listed),
            more,
            "</details>",
        ]
    return out


def _changes(report: Report) -> list[str]:
    out = ["", "## What changed", ""]
    if not report.transitions:
        return [*out, "One environment: nothing to compare."]
    for t in report.transitions:
        out += _transition(t)
    return out


def _drift(report: Report) -> list[str]:
    if not report.drift:
        return []
    usable = report.usable
    rows = (
        [_md(key), *("—" if v is None else f"{v:.3g}" for v in ratios), f"{spread:.3g}"]
        for key, ratios, spread in report.drift
    )
    header = ["item", *(_md(r.label) for r in usable), "spread"]
    title = "## Largest numeric drift (largest error ÷ tolerance; items that pass everywhere)"
    return ["", title, "", *_table(header, rows)]


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


def _saved(report: Report) -> list[str]:
    """Per format: writer x reader. Can we read what 2.15 wrote on 2.21? One table each."""
    if not report.saved:
        return []
    readers = [r.label for r in report.usable]
    out = [
        "",
        "## Saved models: writer × reader",
        "",
        "Each cell: the items whose saved model, written by the row's release, the column's release loaded "
        "and judged (agrees: loads and computes the oracle's numbers with the saved weights; differs; "
        "refuses; declared: a case file declares it).",
    ]
    for fmt, rows in report.saved.items():
        body = (
            [_md(writer), _md(loader), *(_md(saved_cell(cells.get(r))) for r in readers)]
            for (writer, loader), cells in sorted(rows.items(), key=lambda kv: (kv[0][0] != SAME, kv[0]))
        )
        out += ["", f"### `{fmt}`", "", *_table(["written by", "loader", *readers], body)]
    return out


def _matrix(report: Report) -> list[str]:
    runs = report.runs
    out = [
        "",
        "## All items",
        "",
        "Cells: outcome (largest error ÷ tolerance; 1 is the edge of failing).",
    ]
    if report.skipped_everywhere:
        out += [
            "",
            f"{len(report.skipped_everywhere)} items skipped in every environment are not listed: "
            f"{_md(report.skip_reason)}.",
        ]
    rows = []
    for key in report.keys:
        item = columns(key, runs)
        variant = f"[{item.variant}]" if item.variant else ""
        ident = [_md(item.case + variant), item.path, item.context, item.mode, item.dtype, item.device]
        rows.append([*ident, *(cell_text(r.items.get(key)) if r.usable else "n/a" for r in runs)])
    header = ["case", "path", "context", "mode", "dtype", "device", *(_md(r.label) for r in runs)]
    return [*out, "", *_table(header, rows)]
