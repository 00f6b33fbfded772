"""``python -m conformance report RESULTS...``: several results files (one per environment) → one page.

What a team validating an upgrade reads first comes first:

1. a one-sentence verdict — does the upgrade change anything no case file declares? — what a CI job posts;
2. per transition between consecutive releases (ordered by release), one line per *cause* — the same
   declared divergence appearing, the same kernel change, the same failing check — with its count, how
   the items split by context, and the items folded under it;
3. the largest numeric drift among items no divergence touches;
4. the whole matrix, with items skipped in every environment folded into one line.

A results file that is missing, unreadable or from a run that did not finish is an error column, never
dropped. This module reads and analyses; each format is rendered by its own module, registered in
:data:`conformance.registry.REPORT_FORMATS` (Markdown, HTML, JSON).
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from conformance.item import ItemId
from conformance.results.file import FORMAT

SHORT = {
    "passed": "pass",
    "failed": "FAIL",
    "xfailed": "xfail",
    "xpassed": "XPASS",
    "skipped": "skip",
    "error": "ERROR",
    "absent": "—",
}
DRIFT_ROWS = 15
FLAVOUR_ORDER = {"keras2": 0, "keras3": 1, "tf_keras": 2}
BAD = ("failed", "error")


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
        dist = f" ({env['tensorflow_dist']})" if env.get("tensorflow_dist") else ""
        return f"TF {env.get('tensorflow')} · {env.get('keras_flavour')} {env.get('keras')}{dist}"

    @property
    def short(self) -> str:
        """How a transition names the run: its label (the tox env), else its TF release."""
        return self.label

    @property
    def release(self) -> tuple[Any, ...]:
        """Sort key: the TensorFlow release, then Keras 2, Keras 3, tf-keras; unknown last."""
        env = self.environment
        try:
            version: tuple[Any, ...] = (0, Version(str(env.get("tensorflow"))))
        except InvalidVersion:
            version = (1, self.label)
        try:
            keras: tuple[Any, ...] = (0, Version(str(env.get("keras"))))
        except InvalidVersion:
            keras = (1, str(env.get("keras")))
        return (*version, FLAVOUR_ORDER.get(str(env.get("keras_flavour")), 9), *keras, self.label)


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


def summary(run: Run) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in run.items.values():
        counts[record["outcome"]] = counts.get(record["outcome"], 0) + 1
    return counts


# -- changes between two runs ---------------------------------------------------------------------------
@dataclass
class Change:
    """One item's change between two runs."""

    key: str
    context: str
    kind: str  # new failure | divergence appeared | divergence gone | fixed | outcome | kernel
    before: str
    after: str
    cause: str  # one line; items with the same kind and cause are one row of the report


@dataclass
class Cause:
    kind: str
    cause: str
    keys: list[str]
    contexts: dict[str, int]

    @property
    def count(self) -> int:
        return len(self.keys)

    def by_context(self) -> str:
        return " · ".join(f"{c} {n}" for c, n in sorted(self.contexts.items()))


@dataclass
class Transition:
    before: Run
    after: Run
    changes: list[Change]
    moved: list[str]  # items whose largest error / tolerance moved (no divergence in either run)

    @property
    def name(self) -> str:
        return f"{self.before.short} → {self.after.short}"

    @property
    def causes(self) -> list[Cause]:
        groups: dict[tuple[str, str], Cause] = {}
        for c in self.changes:
            cause = groups.setdefault((c.kind, c.cause), Cause(c.kind, c.cause, [], {}))
            cause.keys.append(c.key)
            cause.contexts[c.context] = cause.contexts.get(c.context, 0) + 1
        order = {k: i for i, k in enumerate(KIND_ORDER)}
        return sorted(groups.values(), key=lambda g: (order.get(g.kind, 9), -g.count, g.cause))

    def count(self, *kinds: str) -> int:
        return sum(1 for c in self.changes if c.kind in kinds)

    @property
    def undeclared(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "new failure"]

    def summary(self) -> str:
        outcome = self.count(*OUTCOME_KINDS)
        kernel = self.count("kernel")
        parts = []
        if outcome:
            parts.append(f"{outcome} outcome change{'s' if outcome != 1 else ''}")
        if kernel:
            parts.append(f"{kernel} kernel change{'s' if kernel != 1 else ''}")
        if self.moved:
            parts.append(f"numbers moved in {len(self.moved)} item{'s' if len(self.moved) != 1 else ''}")
        return f"{self.name}: " + ("; ".join(parts) if parts else "identical")


KIND_ORDER = ("new failure", "divergence appeared", "divergence gone", "fixed", "outcome", "kernel")
OUTCOME_KINDS = KIND_ORDER[:-1]


def _kind(before: str, after: str) -> str:
    if after in BAD and before not in BAD:
        return "new failure"
    if after == "xfailed" and before != "xfailed":
        return "divergence appeared"
    if before == "xfailed" and after not in ("xfailed", "absent"):
        return "divergence gone"
    if before in BAD and after in ("passed", "xfailed"):
        return "fixed"
    return "outcome"


_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _why(record: dict[str, Any] | None) -> str:
    """One line saying why an item has its outcome: its declared divergence, or what failed."""
    if not record:
        return "not in this run"
    outcome = record.get("outcome")
    reason = str(record.get("reason") or "").strip()
    if outcome == "xfailed":  # the kind of change already says it is a known divergence
        return reason.splitlines()[0].removeprefix("known divergence: ") if reason else "known divergence"
    if outcome in BAD:
        problems = record.get("problems") or []
        if problems:  # the first problem's first line up to its numbers: one line per kind of failure
            return _NUMBER.sub("N", str(problems[0]).split(": ")[0])
        failed = [c for c, s in (record.get("checks") or {}).items() if s == "failed"]
        return (
            ("failed: " + ", ".join(f"[{c}]" for c in failed)) if failed else (reason.splitlines() or [""])[0]
        )
    if outcome == "skipped":
        return reason.splitlines()[0] if reason else "skipped"
    return outcome or "?"


def _kernel(record: dict[str, Any] | None) -> str:
    text = str((record or {}).get("kernel") or "—")
    return text.split(", in tf.function")[0]  # the mode is the item's, not the kernel's


def _moved(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return False
    return abs(a - b) > max(0.01, 0.1 * max(a, b))


def compare(before: Run, after: Run) -> Transition:
    changes: list[Change] = []
    moved: list[str] = []
    for key in sorted(set(before.items) | set(after.items)):
        old, new = before.items.get(key), after.items.get(key)
        context = ItemId.from_record(old or new or {"case": "?"}).context
        o_before = old["outcome"] if old else "absent"
        o_after = new["outcome"] if new else "absent"
        if o_before != o_after:
            kind = _kind(o_before, o_after)
            why = _why(new if o_after in (*BAD, "xfailed", "skipped") else old)
            changes.append(Change(key, context, kind, o_before, o_after, f"{o_before} → {o_after}: {why}"))
        k_before, k_after = _kernel(old), _kernel(new)
        if old and new and "—" not in (k_before, k_after) and k_before != k_after:
            changes.append(Change(key, context, "kernel", k_before, k_after, f"{k_before} → {k_after}"))
        clean = o_before == o_after == "passed"
        if clean and _moved(worst(old), worst(new)):
            moved.append(key)
    return Transition(before, after, changes, moved)


# -- the report -----------------------------------------------------------------------------------------
@dataclass
class Report:
    runs: list[Run]
    keys: list[str]  # every item, but those skipped in every environment
    transitions: list[Transition]
    drift: list[tuple[str, list[float | None], float]]
    skipped_everywhere: list[str] = field(default_factory=list)
    skip_reason: str = ""
    baseline: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (item, run, summary)
    # format -> (writer, loader) -> reader -> verdict -> items: the saved-models matrix
    saved: dict[str, dict[tuple[str, str], dict[str, Counter[str]]]] = field(default_factory=dict)

    @property
    def usable(self) -> list[Run]:
        return [r for r in self.runs if r.usable]

    @property
    def changes(self) -> list[Change]:
        return [c for t in self.transitions for c in t.changes]

    def verdict(self) -> str:
        """One sentence: does the upgrade change anything no case file declares?"""
        bad_runs = [r for r in self.runs if r.status != "complete"]
        usable = self.usable
        if not usable:
            return "**No usable results**: " + "; ".join(f"{r.label}: {r.error}" for r in self.runs) + "."
        first, last = usable[0], usable[-1]
        span = (
            f"from {first.label} ({first.describe()}) to {last.label} ({last.describe()})"
            if first is not last
            else f"on {first.label} ({first.describe()})"
        )
        new = {c.key for t in self.transitions for c in t.undeclared}
        failing = {k for k, r in last.items.items() if r["outcome"] in BAD}
        undeclared = len(new | failing)
        head = (
            f"**{undeclared} undeclared change{'s' if undeclared != 1 else ''}** {span}"
            if undeclared
            else f"**No undeclared change** {span}"
        )
        declared = sum(t.count("divergence appeared", "divergence gone") for t in self.transitions)
        kernels = sum(t.count("kernel") for t in self.transitions)
        moved = len({k for t in self.transitions for k in t.moved})
        facts = [
            f"{_n(len(new), 'item')} newly fail{'s' if len(new) == 1 else ''}" if new else "",
            f"{len(failing)} fail in {last.label}" if failing else "",
            f"{declared} change{'s' if declared != 1 else ''} as case files declare" if declared else "",
            f"{_n(kernels, 'item')} run{'s' if kernels == 1 else ''} another kernel" if kernels else "",
            f"numbers moved in {_n(moved, 'item')}" if moved else "",
            f"results of {', '.join(r.label for r in bad_runs)} are missing or incomplete"
            if bad_runs
            else "",
        ]
        facts = [f for f in facts if f]
        return head + (": " + "; ".join(facts) if facts else "") + "."


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _baseline_rows(runs: list[Run]) -> list[tuple[str, str, dict[str, Any]]]:
    """Per item and environment: how far it drifted from the baseline it was compared with."""
    rows = []
    for run in runs:
        for key, rec in run.items.items():
            found = rec.get("baseline")
            arrays = {n: a for n, a in (found or {}).items() if isinstance(a, dict) and "worst" in a}
            if not arrays:
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


SAME = "the same release"


def _saved(runs: list[Run]) -> dict[str, dict[tuple[str, str], dict[str, Counter[str]]]]:
    """Per format: writer x reader, each cell the items' verdicts (loads and agrees / differs / refuses),
    a refusal or difference on an item that is a declared divergence counted as declared."""
    out: dict[str, dict[tuple[str, str], dict[str, Counter[str]]]] = {}
    for run in runs:
        for rec in run.items.values():
            declared = rec.get("outcome") == "xfailed"
            by_writer: dict[str, Any] = {SAME: rec.get("round_trip") or {}, **(rec.get("carry_over") or {})}
            for writer, verdicts in by_writer.items():
                for subject, verdict in (verdicts or {}).items():
                    fmt, _, loader = str(subject).partition(".")
                    word = str(verdict).split(":", 1)[0]
                    if word == "not written":  # not shipped, or a format this writer has none of
                        continue
                    if ": ops " in str(verdict):  # TFLite: the op set it was converted to, counted apart
                        ops = str(verdict).split(": ops ", 1)[1]
                        cell = out.setdefault(fmt, {}).setdefault((writer, "op set: " + ops), {})
                        cell.setdefault(run.label, Counter())["converted"] += 1
                    if word in ("refuses", "differs") and declared:
                        word += " (declared)"
                    cell = out.setdefault(fmt, {}).setdefault((writer, loader), {})
                    cell.setdefault(run.label, Counter())[word] += 1
    return out


def saved_cell(counts: Counter[str] | None) -> str:
    """'agrees 6', 'refuses 6 (declared)', 'differs 1 · agrees 5' ('' where nothing was read)."""
    if not counts:
        return ""
    order = ("differs", "refuses", "differs (declared)", "refuses (declared)", "agrees")
    words = sorted(counts, key=lambda w: (order.index(w) if w in order else len(order), w))
    return " · ".join(
        f"{w.replace(' (declared)', '')} {counts[w]}{' (declared)' if 'declared' in w else ''}" for w in words
    )


def analyse(runs: list[Run]) -> Report:
    usable = [r for r in runs if r.usable]
    every = sorted({k for r in usable for k in r.items})
    skipped = [
        k for k in every if usable and all(r.items.get(k, {}).get("outcome") == "skipped" for r in usable)
    ]
    skip_reason = _why(usable[0].items[skipped[0]]) if skipped else ""
    keys = [k for k in every if k not in set(skipped)]
    transitions = [compare(a, b) for a, b in itertools.pairwise(usable)]
    drift = []
    for key in keys:
        records = [r.items.get(key) for r in usable]
        if any(rec is None or rec["outcome"] != "passed" for rec in records):
            continue  # a divergence's (or a failure's) numbers are not drift
        ratios = [worst(rec) for rec in records]
        known = [v for v in ratios if v is not None]
        if len(known) >= 2:
            drift.append((key, ratios, max(known) - min(known)))
    drift.sort(key=lambda row: -row[2])
    return Report(
        runs,
        keys,
        transitions,
        drift[:DRIFT_ROWS],
        skipped,
        skip_reason,
        _baseline_rows(usable),
        _saved(usable),
    )


def _is_report(path: Path) -> bool:
    """A report's own JSON (report.json) lying among the results files it was made from."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and "matrix" in data and "format" not in data


def expand(paths: list[Path]) -> list[Path]:
    """Folders stand for the results files in them; files are kept as given, missing or not."""
    out: list[Path] = []
    for p in paths:
        out.extend(f for f in sorted(p.glob("*.json")) if not _is_report(f)) if p.is_dir() else out.append(p)
    return out


def build(paths: list[Path]) -> Report:
    """Read every results file (a folder: each in it, ordered by release; files: in the order given)."""
    runs = [load(p) for p in expand(paths)]
    if any(p.is_dir() for p in paths):
        good = sorted((r for r in runs if r.usable), key=lambda r: r.release)
        runs = good + [r for r in runs if not r.usable]
    return analyse(runs)


def cell_text(rec: dict[str, Any] | None) -> str:
    if rec is None:
        return "—"
    text = SHORT.get(rec["outcome"], rec["outcome"])
    ratio = worst(rec)
    return f"{text} ({ratio:.2g})" if ratio is not None and rec["outcome"] in ("passed", "failed") else text


def columns(key: str, runs: list[Run]) -> ItemId:
    """The identity of a row (from the first run that has it)."""
    for run in runs:
        if key in run.items:
            return ItemId.from_record(run.items[key])
    return ItemId.parse(key)


def to_json(report: Report) -> dict[str, Any]:
    return {
        "verdict": report.verdict(),
        "runs": [
            {k: v for k, v in asdict(r).items() if k != "items"} | {"summary": summary(r)}
            for r in report.runs
        ],
        "transitions": [
            {
                "from": t.before.label,
                "to": t.after.label,
                "summary": t.summary(),
                "causes": [asdict(c) for c in t.causes],
                "moved": t.moved,
            }
            for t in report.transitions
        ],
        "changes": [asdict(c) for c in report.changes],
        "drift": [{"item": k, "worst": v, "spread": s} for k, v, s in report.drift],
        "skipped_everywhere": {"count": len(report.skipped_everywhere), "reason": report.skip_reason},
        "baseline": [{"item": k, "environment": e, **b} for k, e, b in report.baseline],
        "saved_models": {
            fmt: [
                {"writer": w, "loader": loader, "readers": {r: dict(c) for r, c in readers.items()}}
                for (w, loader), readers in sorted(rows.items())
            ]
            for fmt, rows in report.saved.items()
        },
        "matrix": {k: {r.label: r.items.get(k) for r in report.runs} for k in report.keys},
    }
