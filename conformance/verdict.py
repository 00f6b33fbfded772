"""One item, start to end: environment, run, checks, declared divergences → an outcome to report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import baseline, tfenv
from conformance.case import Case
from conformance.checks import evaluate
from conformance.divergence import applicable, decide
from conformance.errors import KitEnvironmentError
from conformance.families import FAMILIES
from conformance.run import PathError, PathRun, execute
from conformance.tolerance import for_item


@dataclass
class ItemOutcome:
    status: str  # passed | failed | xfailed | skipped
    header: str = ""
    reason: str = ""
    problems: tuple[str, ...] = ()
    skip: str = ""
    record: dict[str, Any] = field(default_factory=dict)  # machine-readable facts for results files
    environment: dict[str, Any] = field(default_factory=dict)  # the fingerprint, for results files


def header(
    case: Case,
    path: str,
    dtype: str,
    device: str,
    env: tfenv.TFEnv,
    run: PathRun | None,
    steps: list[str],
    mode: str = "eager",
) -> str:
    """The first lines of a failure: which case, which path, which environment, which calls."""
    where = f"{case.source}:{case.line}" if case.line else str(case.source)
    variant = f" variant {case.variant}" if case.variant else ""
    opts = case.options
    if case.custom is not None:  # a user's cell: its own constructor arguments, not the built-in options
        cell = f"custom {case.custom.cell}({', '.join(f'{k}={v!r}' for k, v in case.custom.args.items())})"
    else:
        own = opts.cell_kwargs(FAMILIES[case.layer].cell_options)
        cell = ", ".join([case.layer, *(f"{k}={v}" for k, v in own.items())])
    others = {k: v for k, v in opts.layer_kwargs().items() if k not in ("return_sequences", "return_state")}
    extra = "".join(f", {k}={v}" for k, v in others.items())
    masked = f"; mask: {case.mask}" if case.mask is not None else ""
    lines = [
        f"case {case.id!r}{variant} · path {path} · mode {mode} · dtype {dtype} · device {device}"
        f"   ({where})",
        f"  environment: {env.describe()}" + (f"; kernel: {run.kernel}" if run else ""),
        f"  layer: {cell}; {case.sizes}; return_sequences={opts.return_sequences}, "
        f"return_state={opts.return_state}{extra}; initial_state: {case.initial_state.kind}{masked}",
        "  calls made:",
        *(f"    {s}" for s in steps),
    ]
    return "\n".join(lines)


def judge(
    case: Case,
    path: str,
    dtype: str,
    device: str,
    *,
    mode: str = "eager",
    gpu_required: bool,
    record_dir: Path | None = None,
    baseline_dir: Path | None = None,
) -> ItemOutcome:
    """Run the item and decide its outcome; exceptions from TF become findings, kit bugs propagate."""
    started = time.perf_counter()
    env = tfenv.load()
    record: dict[str, Any] = {
        "mode": mode,
        "case": case.id,
        "variant": case.variant,
        "path": path,
        "dtype": dtype,
        "device": device,
    }
    if device == "gpu" and not env.gpus:
        if gpu_required:
            raise KitEnvironmentError(
                "--conformance-devices names gpu, but TensorFlow sees no GPU "
                "(tf.config.list_physical_devices('GPU') is empty)"
            )
        return ItemOutcome(
            "skipped",
            environment=env.fingerprint,
            skip="no GPU visible to TensorFlow (run with --conformance-devices=cpu to leave gpu items out)",
            record=record,
        )
    declared = applicable(case.divergences, path, dtype, device, env, mode)
    run: PathRun | None = None
    error: BaseException | None = None
    try:
        run = execute(env, case, path, dtype, device, mode)
        steps, call = run.steps, run.main_call
        tols = for_item(dtype, case.expect.tolerance, tf32=env.tf32 and device == "gpu")
        results = evaluate(case, dtype, run, tols)
        if baseline_dir is not None:
            results.append(baseline.check(run, case, dtype, baseline_dir, tols))
        if record_dir is not None:
            record["recorded"] = baseline.record(run, case, dtype, record_dir, tols, env.fingerprint)
    except PathError as exc:
        steps, call, error, results = exc.steps, exc.call, exc.error, []
    failed = {r.name: r.problems for r in results if r.failed}
    outcome = decide(declared, error, call, failed)
    record.update(
        outcome=outcome.status,
        kernel=run.kernel if run else None,
        reason=outcome.reason,
        checks={r.name: ("failed" if r.failed else "n/a" if r.not_applicable else "passed") for r in results},
        worst={r.name: r.worst for r in results if r.worst},
        **{r.name: r.details for r in results if r.details},
        duration=time.perf_counter() - started,
    )
    return ItemOutcome(
        outcome.status,
        header(case, path, dtype, device, env, run, steps, mode),
        outcome.reason,
        outcome.problems,
        record=record,
        environment=env.fingerprint,
    )
