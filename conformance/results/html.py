"""The report as one self-contained HTML page: the verdict, one expandable row per cause, drift, and a
sortable matrix coloured by error ÷ tolerance."""

from __future__ import annotations

from html import escape as esc

from conformance.results.report import (
    SAME,
    SHORT,
    Report,
    Run,
    Transition,
    cell_text,
    columns,
    saved_cell,
    summary,
    worst,
)

_CSS = """body{font:14px system-ui,sans-serif;margin:2em;max-width:110em}
table{border-collapse:collapse;margin:1em 0}th{background:#eee;cursor:pointer}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
.err{color:#a00;font-weight:bold}.FAIL,.ERROR{font-weight:bold}.muted{color:#888}.verdict{font-size:1.15em}
details summary{cursor:pointer}details ul{margin:.3em 0;max-height:20em;overflow:auto}"""
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


def _verdict(text: str) -> str:
    """The Markdown verdict's **bold** head as HTML."""
    head, _, rest = text.partition("** ")
    return f"<p class=verdict><b>{esc(head.removeprefix('**'))}</b> {esc(rest)}</p>"


def render(report: Report) -> str:
    parts = [
        "<!doctype html><meta charset=utf-8><title>Conformance report</title>",
        f"<style>{_CSS}</style>",
        "<h1>Conformance report</h1>",
        _verdict(report.verdict()),
    ]
    for section in (_environments, _changes, _drift, _baseline, _saved, _matrix):
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
        "<table>" + _row(["", *(esc(r.label) for r in runs)], "th"),
        _row(["environment", *(esc(r.describe()) for r in runs)]),
        "<tr><td>status</td>" + "".join(status(r) for r in runs) + "</tr>",
        _row(["outcomes", *(esc(", ".join(f"{n} {k}" for k, n in sorted(summary(r).items()))) for r in runs)])
        + "</table>",
    ]


def _transition(t: Transition) -> list[str]:
    parts = [f"<h3>{esc(t.summary())}</h3>"]
    if not t.causes:
        return parts
    parts.append(
        "<table class=sortable><thead>"
        + _row(["change", "items", "by context", "cause (click to list the items)"], "th")
        + "</thead><tbody>"
    )
    for c in t.causes:
        items = "".join(f"<li>{esc(k)}</li>" for k in c.keys)
        parts.append(
            f'<tr><td>{esc(c.kind)}</td><td data-v="{c.count}">{c.count}</td><td>{esc(c.by_context())}</td>'
            f"<td><details><summary>{esc(c.cause)}</summary><ul>{items}</ul></details></td></tr>"
        )
    return [*parts, "</tbody></table>"]


def _changes(report: Report) -> list[str]:
    parts = ["<h2>What changed</h2>"]
    if not report.transitions:
        return [*parts, "<p>One environment: nothing to compare.</p>"]
    for t in report.transitions:
        parts += _transition(t)
    return parts


def _ratio(v: float | None) -> str:
    return "—" if v is None else f"{v:.3g}"


def _drift(report: Report) -> list[str]:
    if not report.drift:
        return []
    usable = report.usable
    parts = [
        "<h2>Largest numeric drift</h2><p class=muted>Largest error ÷ tolerance per environment, items that "
        "pass everywhere.</p><table class=sortable><thead>"
        + _row(["item", *(esc(r.label) for r in usable), "spread"], "th")
        + "</thead><tbody>"
    ]
    for key, ratios, spread in report.drift:
        cells = "".join(
            f'<td style="{_colour(v)}" data-v="{-1 if v is None else v}">{_ratio(v)}</td>' for v in ratios
        )
        parts.append(f'<tr><td>{esc(key)}</td>{cells}<td data-v="{spread}">{spread:.3g}</td></tr>')
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


def _saved(report: Report) -> list[str]:
    """Per format: writer x reader (can we read what 2.15 wrote on 2.21?)."""
    if not report.saved:
        return []
    readers = [r.label for r in report.usable]
    parts = ["<h2>Saved models: writer × reader</h2>"]
    for fmt, rows in report.saved.items():
        parts.append(
            f"<h3>{esc(fmt)}</h3><table><thead>" + _row(["written by", "loader", *map(esc, readers)], "th")
        )
        parts.append("</thead><tbody>")
        for (writer, loader), cells in sorted(rows.items(), key=lambda kv: (kv[0][0] != SAME, kv[0])):
            texts = [saved_cell(cells.get(r)) for r in readers]
            tds = "".join(
                f"<td class={'err' if ('differs' in x or 'refuses' in x) and 'declared' not in x else 'ok'}>"
                f"{esc(x)}</td>"
                for x in texts
            )
            parts.append(f"<tr><td>{esc(writer)}</td><td>{esc(loader)}</td>{tds}</tr>")
        parts.append("</tbody></table>")
    return parts


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
    folded = (
        f"<p class=muted>{len(report.skipped_everywhere)} items skipped in every environment are not listed: "
        f"{esc(report.skip_reason)}.</p>"
        if report.skipped_everywhere
        else ""
    )
    header = ["case", "path", "context", "mode", "dtype", "device", *(esc(r.label) for r in runs)]
    parts = [
        "<h2>All items</h2><p class=muted>Cell colour: largest error ÷ tolerance (green 0, red ≥ 1). "
        f"Click a header to sort.</p>{folded}<table class=sortable><thead>"
        + _row(header, "th")
        + "</thead><tbody>"
    ]
    for key in report.keys:
        item = columns(key, runs)
        variant = f"[{item.variant}]" if item.variant else ""
        ident = "".join(
            f"<td>{esc(x)}</td>"
            for x in (item.case + variant, item.path, item.context, item.mode, item.dtype, item.device)
        )
        parts.append(f"<tr>{ident}{''.join(_cell(r, key) for r in runs)}</tr>")
    return [*parts, "</tbody></table>"]
