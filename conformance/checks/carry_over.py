"""``carry_over``: models saved on another release load on this one and compute what they computed there
and what the oracle says.

``--conformance-record DIR`` writes, beside each item's baseline entry, a folder ``<entry>.saved/`` with
the item's model in every format of its ``expect.saving`` that the running Keras writes (one subfolder per
format), ``io.npz`` (the inputs and what the saved model computed on them) and ``meta.json`` (artifact
format, item, case hash, the writer's TF and Keras, what was written or why not).
``--conformance-baseline DIR`` reads them back with every loader this release offers, as do the folders
shipped with the kit (``cases/artifacts/<writer>/``, written by older releases from the shipped cases).

Nothing is loaded from outside the given folder (symlinks that leave it are refused); Keras 3's
``safe_mode`` stays on; an unreadable, truncated or foreign artifact is a finding naming its file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from conformance import registry
from conformance.casefile.case import Case, Tolerance
from conformance.checks.base import CheckResult
from conformance.checks.baseline import case_hash, entry_path
from conformance.checks.loaded import judge
from conformance.checks.reference import Reference
from conformance.item import ItemId
from conformance.run.execute import PathRun
from conformance.run.saving.base import Loaded, feed_list, load
from conformance.run.saving.roundtrip import write_all
from conformance.run.tensors import to_numpy

FORMAT = 1  # the artifact folder's layout (meta.json "format")


def folder_for(root: Path, item: ItemId) -> Path:
    return entry_path(root, item).with_suffix(".saved")


def shipped_roots() -> list[Path]:
    """The writers' folders shipped with the kit: installed as conformance/cases/artifacts, or in a
    checkout at cases/artifacts (one folder per writer release, e.g. tf2.15-keras2)."""
    here = Path(__file__).resolve().parents[1]
    for base in (here / "cases" / "artifacts", here.parent / "cases" / "artifacts"):
        if base.is_dir():
            return sorted(p for p in base.iterdir() if p.is_dir())
    return []


def record(run: PathRun, case: Case, root: Path, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """Write the item's saved models; what was written (or why not), for the results file."""
    session = run.model.session if run.model is not None else None
    if session is None:
        return {}
    folder = folder_for(root, run.item)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    portable = tuple(n for n in case.expect.saving if registry.save_format(n).portable)
    written = write_all(session, folder, portable)
    output, states = session.split(session.model(session.feed, training=False))
    arrays = {f"in.{i}": np.asarray(v) for i, v in enumerate(feed_list(session))}
    arrays["output"] = to_numpy(output)
    for name, value in zip(run.family.state_names, states or []):
        arrays[f"state.{name}"] = to_numpy(value)
    np.savez(folder / "io.npz", **arrays)  # type: ignore[arg-type]
    status = {name: "ok" if why is None else str(why) for name, why in written.items()}
    meta = {
        "format": FORMAT,
        "item": run.item.record(),
        "case_hash": case_hash(case),
        "writer": {k: fingerprint.get(k) for k in ("tensorflow", "keras", "keras_flavour")},
        "written": status,
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
    return {"artifacts": str(folder), "written": status}


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _meta(folder: Path, case: Case) -> tuple[dict[str, Any], str]:
    """The folder's metadata, or why it cannot be used (naming the file)."""
    source = folder / "meta.json"
    try:
        meta = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {}, f"{source} is unreadable: {type(exc).__name__}: {exc}"
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        return (
            {},
            f"{source}: artifact format {found!r}, this kit reads format {FORMAT} (another kit version?)",
        )
    if meta.get("case_hash") != case_hash(case):
        return {}, (
            f"{source}: the case changed since these models were saved (case hash {meta.get('case_hash')} -> "
            f"{case_hash(case)}): record them again"
        )
    return meta, ""


def check(
    run: PathRun, case: Case, roots: list[tuple[Path, bool]], tols: tuple[Tolerance, Tolerance]
) -> CheckResult:
    """Every saved model in each root (``required``: a missing folder is a finding) loaded and judged."""
    r = CheckResult("carry_over")
    session = run.model.session if run.model is not None else None
    if session is None:
        r.not_applicable = (run.model.not_saved if run.model is not None else "") or "no model saved here"
        return r
    ref = Reference.for_item(case, run.data, run.family, run.loop)
    verdicts: dict[str, dict[str, str]] = {}
    for root, required in roots:
        folder = folder_for(root, run.item)
        if not folder.is_dir():
            if required:
                r.add(
                    "entry",
                    f"no saved models for this item in {root}: {folder} does not exist (record them "
                    "with --conformance-record on the release that writes them)",
                )
            continue
        if not _inside(folder, root):
            r.add("entry", f"{folder} leads outside {root}: refused")
            continue
        meta, why = _meta(folder, case)
        if why:
            r.add("entry", why)
            continue
        w, written = meta.get("writer"), meta.get("written")
        if not isinstance(w, dict) or not isinstance(written, dict):
            r.add(
                "entry", f"{folder / 'meta.json'}: no 'writer' and 'written' tables: not this kit's artifacts"
            )
            continue
        label = f"TF {w.get('tensorflow')} ({w.get('keras_flavour')} {w.get('keras')})"
        against = f" (written by {label})"
        try:
            with np.load(folder / "io.npz", allow_pickle=False) as io:
                recorded = {k: np.asarray(io[k]) for k in io.files}
        except (OSError, ValueError) as exc:
            r.add("entry", f"{folder / 'io.npz'} is unreadable: {type(exc).__name__}: {exc}")
            continue
        row = verdicts.setdefault(label, {})
        for name, status in sorted(written.items()):
            entry = registry.by_name(registry.SAVE_FORMATS).get(name)
            if entry is None:
                r.add("entry", f"{folder / 'meta.json'}: unknown format {name!r} (another kit version?)")
                continue
            if name not in case.expect.saving or not registry.save_format(name).portable:
                continue
            for loader in entry.loaders:
                subject = f"{name}.{loader}"
                if status != "ok":
                    row[subject] = f"not written: {status}"
                    continue
                if not _inside(folder / name, folder):
                    r.add(subject, f"{folder / name} leads outside {folder}: refused")
                    continue
                loaded: Loaded = load(registry.save_format(name), loader, session, folder / name)
                verdict = judge(r, loaded, ref, tols[0], run.family.state_names, case.units, against=against)
                same = (
                    loaded.output is None
                    or "output" not in recorded
                    or r.judge(
                        loaded.output,
                        recorded["output"],
                        tols[0],
                        f"{subject}{against}: output of {loaded.call} vs what it computed on {label}",
                        subject=subject,
                    )
                )
                if not same:
                    verdict = "differs"
                row[subject] = verdict + (f": {loaded.unavailable}" if loaded.unavailable else "")
                row[subject] += f": ops {', '.join(loaded.ops)}" if loaded.ops else ""
    r.details = verdicts
    if not verdicts and not r.findings:
        r.not_applicable = (
            "no saved models for this item (none recorded by --conformance-baseline's run, none shipped)"
        )
    return r
