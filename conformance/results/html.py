"""The report as one self-contained HTML page: sortable tables, cells coloured by error ÷ tolerance."""

from __future__ import annotations

from html import escape as esc

from conformance.results.report import SHORT, Report, Run, cell_text, summary, worst

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


def render(report: Report) -> str:
    parts = ["<!doctype html><meta charset=utf-8><title>Conformance report</title>", f"<style>{_CSS}</style>"]
    for section in (_environments, _changes, _baseline, _matrix):
        parts += section(report)
    parts.append(f"<script>{_JS}</script>")
    return "\n".join(parts) + "\n"


def _row(cells: list[str], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


def _environments(report: Report) -> list[str]:
    runs = report.runs

    def status(r: Run) -> str:
        return "<td>ok</td>" if r.status == "complete" else f"<td class=err>ERROR: {esc(r.error)}</td>"

    return [
        "<h1>Conformance report</h1><table>" + _row(["", *(esc(r.label) for r in runs)], "th"),
        _row(["environment", *(esc(r.describe()) for r in runs)]),
        "<tr><td>status</td>" + "".join(status(r) for r in runs) + "</tr>",
        _row(["outcomes", *(esc(", ".join(f"{n} {k}" for k, n in sorted(summary(r).items()))) for r in runs)])
        + "</table>",
    ]


def _changes(report: Report) -> list[str]:
    parts = [f"<h2>What changed ({len(report.changes)})</h2>"]
    if not report.changes:
        return [*parts, "<p>Nothing: every item has the same outcome and kernel in every environment.</p>"]
    usable = [r for r in report.runs if r.usable]
    parts.append(
        "<table class=sortable><thead>"
        + _row(["item", "change", *(esc(r.label) for r in usable), "detail"], "th")
        + "</thead><tbody>"
    )
    parts += [
        _row([esc(c.item), esc(c.kind), *(esc(v) for v in c.values), esc(c.detail)]) for c in report.changes
    ]
    return [*parts, "</tbody></table>"]


def _baseline(report: Report) -> list[str]:
    if not report.baseline:
        return []
    header = [
        "item",
        "environment",
        "in tolerance",
        "largest error ÷ tolerance",
        "array",
        "max abs",
        "max ULPs",
    ]
    parts = [
        "<h2>Drift from the baseline</h2><table class=sortable><thead>"
        + _row(header, "th")
        + "</thead><tbody>"
    ]
    for key, label, b in report.baseline:
        parts.append(
            f"<tr><td>{esc(key)}</td><td>{esc(label)}</td><td>{'yes' if b['in_tolerance'] else 'NO'}"
            f'</td><td style="{_colour(b["worst"])}" data-v="{b["worst"]}">{b["worst"]:.3g}</td>'
            f'<td>{esc(b["array"])}</td><td data-v="{b["max_abs"]}">{b["max_abs"]:.3g}</td>'
            f'<td data-v="{b["max_ulps"]}">{b["max_ulps"]:.3g}</td></tr>'
        )
    return [*parts, "</tbody></table>"]


def _cell(r: Run, key: str) -> str:
    rec = r.items.get(key) if r.usable else None
    ratio = worst(rec)
    text = cell_text(rec) if r.usable else "n/a"
    title = esc(str(rec.get("reason") or rec.get("kernel") or "")) if rec else ""
    cls = SHORT.get(rec["outcome"], "") if rec else ""
    return (
        f'<td class="{cls}" style="{_colour(ratio)}" data-v="{-1 if ratio is None else ratio}" '
        f'title="{title}">{esc(text)}</td>'
    )


def _matrix(report: Report) -> list[str]:
    runs = report.runs
    parts = [
        "<h2>All items</h2><p class=muted>Cell colour: largest error ÷ tolerance (green 0, red ≥ 1). "
        "Click a header to sort.</p><table class=sortable><thead>"
        + _row(["item", *(esc(r.label) for r in runs)], "th")
        + "</thead><tbody>"
    ]
    parts += [f"<tr><td>{esc(key)}</td>{''.join(_cell(r, key) for r in runs)}</tr>" for key in report.keys]
    return [*parts, "</tbody></table>"]
