"""Golden baselines: what an item computed, stored, so the next TensorFlow can be compared number by number.

``--conformance-record DIR`` writes one ``.npz`` per item; ``--conformance-baseline DIR`` compares each item
with its entry. An entry is self-describing (format version 1):

* arrays ``output``, ``state.<name>`` (final states), ``grad.<source>`` (gradients of the item's loss with
  respect to ``inputs``, ``state.<name>`` and each weight), all float64 — which holds float16, bfloat16 and
  float32 values exactly, so nothing is lost;
* ``__meta__``: a JSON string with ``format``, ``item`` (case, variant, path, dtype, device, mode),
  ``case_hash`` (the numbers-defining part of the case), ``dtype`` and the environment ``fingerprint``.

Entries are read with ``allow_pickle=False``: a baseline is data, never code.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from conformance.casefile.case import Case, Tolerance
from conformance.checks.base import CheckResult
from conformance.checks.compare import compare
from conformance.item import ItemId
from conformance.run.data import DTYPE_ROLES
from conformance.run.execute import PathRun

FORMAT = 1


def case_hash(case: Case) -> str:
    """Hash of what decides an item's numbers (sizes, options, data and state specs), not its prose."""
    numbers = {
        k: v
        for k, v in asdict(case).items()
        if k
        in (
            "layer",
            "batch",
            "timesteps",
            "features",
            "units",
            "options",
            "inputs",
            "weights",
            "initial_state",
            "mask",
            "variant",
        )
    }
    text = json.dumps(numbers, sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    """JSON for what ``asdict`` leaves: sets (sorted) and arrays."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return np.asarray(value).tolist()


def entry_path(root: Path, item: ItemId) -> Path:
    """``root/<case id>[<variant>]/<path>-<context>-<dtype>-<device>-<mode>.npz`` (names made
    filesystem-safe)."""
    folder = item.case + (f"[{item.variant}]" if item.variant else "")
    name = f"{item.path}-{item.context}-{item.dtype}-{item.device}-{item.mode}.npz"
    return root / re.sub(r"[^A-Za-z0-9_.\[\]=,-]", "_", folder) / name


def write(target: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write atomically: a reader sees the old entry or the new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".npz", dir=target.parent)
    os.close(fd)
    try:
        payload = {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}
        header = np.array(json.dumps({"format": FORMAT, **meta}, sort_keys=True))
        np.savez(tmp, __meta__=header, **payload)  # type: ignore[arg-type]
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read(source: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """An entry's arrays and metadata; ValueError for anything that is not a format-1 entry."""
    with np.load(source, allow_pickle=False) as data:
        arrays = {k: np.asarray(data[k]) for k in data.files if k != "__meta__"}
        if "__meta__" not in data.files:
            raise ValueError("no __meta__: not a conformance baseline entry")
        meta = json.loads(str(data["__meta__"]))
    if meta.get("format") != FORMAT:
        raise ValueError(f"baseline format {meta.get('format')!r}, this kit reads format {FORMAT}")
    return arrays, meta


def _spacing(values: np.ndarray, dtype: str) -> np.ndarray:
    """The size of one unit in the last place, in the dtype the item computed in."""
    compute = DTYPE_ROLES[dtype][2]
    if compute == "bfloat16":  # 8 significant bits: the float32 spacing scaled up by 2**16
        return np.spacing(np.abs(values).astype(np.float32)).astype(np.float64) * 2.0**16
    return np.spacing(np.abs(values).astype(compute)).astype(np.float64)


@dataclass
class Drift:
    """How far one stored array moved."""

    name: str
    max_abs: float
    max_rel: float
    max_ulps: float
    worst: float  # share of the tolerance used (1 = the edge)
    beyond: int  # elements beyond tolerance
    message: str  # empty when within tolerance


def drift(name: str, got: np.ndarray, stored: np.ndarray, tol: Tolerance, dtype: str, *, grad: bool) -> Drift:
    """Compare one array with its stored value: the numbers a reviewer of an upgrade wants."""
    cmp = compare(got, stored, tol, f"{name} vs baseline", scale_atol=grad)
    if got.shape != stored.shape:
        return Drift(name, float("inf"), float("inf"), float("inf"), float("inf"), got.size, cmp.message)
    err = np.abs(got - stored)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(stored != 0, err / np.abs(stored), np.where(err > 0, np.inf, 0.0))
        ulps = err / _spacing(stored, dtype)
    max_ulps = float(np.nanmax(ulps, initial=0.0))
    message = cmp.message + (f"\n  max ULPs ({dtype}): {max_ulps:.4g}" if cmp.message else "")
    return Drift(
        name,
        float(err.max(initial=0.0)),
        float(np.nanmax(rel, initial=0.0)),
        max_ulps,
        cmp.worst,
        cmp.count,
        message,
    )


def observations(run: PathRun, case: Case) -> dict[str, np.ndarray]:
    """What an item computed that a baseline keeps: output, final states (where observed), gradients."""
    names = run.family.state_names
    as_case = run.probes.as_case
    states = run.states if run.states is not None else as_case[1] if as_case is not None else None
    arrays = {"output": run.output}
    for name, value in zip(names, states or []):
        arrays[f"state.{name}"] = value
    for source, grad in run.grads.items():
        if grad is not None:
            arrays[f"grad.{source}"] = grad
    return arrays


def meta(case: Case, item: ItemId, fingerprint: dict[str, Any]) -> dict[str, Any]:
    return {
        "item": item.record(),
        "case_hash": case_hash(case),
        "dtype": item.dtype,
        "fingerprint": fingerprint,
    }


def compare_entry(
    arrays: dict[str, np.ndarray],
    stored: dict[str, np.ndarray],
    tols: tuple[Tolerance, Tolerance],
    dtype: str,
) -> list[Drift]:
    """Every array against its stored value (a missing or extra array is a drift of its own)."""
    drifts = []
    for name in sorted(set(arrays) | set(stored)):
        if name not in stored or name not in arrays:
            where = "the baseline" if name not in stored else "this run"
            drifts.append(
                Drift(
                    name,
                    float("inf"),
                    float("inf"),
                    float("inf"),
                    float("inf"),
                    0,
                    f"{name}: missing from {where}",
                )
            )
            continue
        grad = name.startswith("grad.")
        drifts.append(drift(name, arrays[name], stored[name], tols[1] if grad else tols[0], dtype, grad=grad))
    return drifts


def explained_by(divergences: Any) -> dict[str, str]:
    """The baseline subjects a declared divergence already says differ (its agreement subjects as they are,
    its gradient subjects as ``grad.<what>``), each with the divergence's reason: drift there is explained."""
    out: dict[str, str] = {}
    for d in divergences:
        for entry in d.differs:
            for what in entry.what:
                if entry.check == "agreement":
                    out[what] = d.reason
                elif entry.check == "gradient":
                    out[f"grad.{what}"] = d.reason
    return out


def record_divergence(
    case: Case, item: ItemId, root: Path, fingerprint: dict[str, Any], reason: str
) -> dict[str, Any]:
    """An item that ended as a declared divergence with nothing computed: an entry that says so, so the
    release compared with it reports that reason rather than a missing entry."""
    target = entry_path(root, item)
    write(target, {}, {**meta(case, item, fingerprint), "divergence": reason})
    return {"entry": str(target), "status": "declared divergence"}


def check(
    run: PathRun,
    case: Case,
    dtype: str,
    root: Path,
    tols: tuple[Tolerance, Tolerance],
    explained: dict[str, str] | None = None,
) -> CheckResult:
    """The ``baseline`` check: this run against its stored entry; drift on a subject that a divergence
    declared on either side (``explained`` here, the entry's own for the recording side) is named, not
    failed."""
    result = CheckResult("baseline")
    source = entry_path(root, run.item)
    if not source.exists():
        result.add("entry", f"not in the baseline: no entry {source} (record one with --conformance-record)")
        return result
    try:
        stored, stored_meta = read(source)
    except (OSError, ValueError) as exc:
        result.add("entry", f"baseline entry {source} is unreadable: {exc}")
        return result
    env = stored_meta.get("fingerprint", {})
    if stored_meta.get("divergence"):
        result.not_applicable = (
            f"nothing recorded: on TF {env.get('tensorflow')} ({env.get('keras_flavour')}) the item was a "
            f"declared divergence: {stored_meta['divergence']}"
        )
        result.details = {"recorded_divergence": stored_meta["divergence"]}
        return result
    explained = {**dict(stored_meta.get("divergences", {})), **(explained or {})}
    if stored_meta.get("case_hash") != case_hash(case):
        result.add(
            "entry",
            f"the case changed since {source} was recorded (case hash {stored_meta.get('case_hash')}"
            f" -> {case_hash(case)}): re-record it with --conformance-record",
        )
        return result
    recorded = f"recorded on TF {env.get('tensorflow')}, {env.get('keras_flavour')} {env.get('keras')}"
    drifts = compare_entry(observations(run, case), stored, tols, dtype)
    named: dict[str, str] = {}
    for d in drifts:
        why = next(
            (reason for pattern, reason in explained.items() if fnmatch.fnmatchcase(d.name, pattern)), None
        )
        if d.message and why is not None:
            named[d.name] = why  # a declared divergence on one side: the drift is that divergence
            continue
        result.worst = max(result.worst, d.worst)
        if d.message:
            result.add(d.name, f"{d.message}\n  ({recorded}; {source})", vs_reference=True)
    if named:
        result.details["explained"] = named
    result.details |= {
        d.name: {
            "max_abs": d.max_abs,
            "max_rel": d.max_rel,
            "max_ulps": d.max_ulps,
            "worst": d.worst,
            "beyond": d.beyond,
        }
        for d in drifts
    }
    return result


def record(
    run: PathRun,
    case: Case,
    dtype: str,
    root: Path,
    tols: tuple[Tolerance, Tolerance],
    fingerprint: dict[str, Any],
    explained: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Write the item's entry; say whether it is new, unchanged or changed (and how much) from the old one."""
    target = entry_path(root, run.item)
    arrays = observations(run, case)
    status: dict[str, Any] = {"entry": str(target), "status": "new"}
    if target.exists():
        try:
            old, old_meta = read(target)
            drifts = compare_entry(arrays, old, tols, dtype)
            moved = [d for d in drifts if d.max_abs > 0]
            status = {
                "entry": str(target),
                "status": "changed" if moved else "unchanged",
                "case_changed": old_meta.get("case_hash") != case_hash(case),
                "worst": max((d.worst for d in drifts), default=0.0),
                "moved": [d.name for d in moved],
            }
        except (OSError, ValueError) as exc:
            status = {"entry": str(target), "status": "replaced unreadable", "error": str(exc)}
    write(target, arrays, {**meta(case, run.item, fingerprint), "divergences": explained or {}})
    return status
