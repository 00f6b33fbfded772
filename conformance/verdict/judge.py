"""One item, start to end: environment, run, checks, declared divergences → an outcome to report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import registry
from conformance.casefile.case import Case, Divergence, Tolerance
from conformance.checks import CheckResult, carry_over, evaluate
from conformance.checks import baseline as baselines
from conformance.checks.base import Finding
from conformance.checks.tolerance import for_item
from conformance.errors import KitEnvironmentError
from conformance.item import ItemId
from conformance.run import tfenv
from conformance.run.execute import PathError, PathRun, execute
from conformance.verdict.divergence import applicable, decide
from conformance.verdict.message import header
from conformance.verdict.outcome import ItemOutcome

NO_GPU = "no GPU visible to TensorFlow (run with --conformance-devices=cpu to leave gpu items out)"


@dataclass(frozen=True)
class JudgeOptions:
    """What the run as a whole asks of every item (from the command line)."""

    gpu_required: bool = False  # gpu named explicitly: a missing GPU fails rather than skips
    record_dir: Path | None = None
    baseline_dir: Path | None = None


def judge(case: Case, item: ItemId, options: JudgeOptions) -> ItemOutcome:
    """Run the item and decide its outcome; exceptions from TF become findings, kit bugs propagate."""
    started = time.perf_counter()
    env = tfenv.load()
    record: dict[str, Any] = {**item.record(), "family": case.layer, "structure": case.structure.kind}
    if case.expect.tolerance:
        record["tolerance_override"] = dict(case.expect.tolerance)
    if item.device == "gpu" and not env.gpus:
        if options.gpu_required:
            raise KitEnvironmentError(
                "--conformance-devices names gpu, but TensorFlow sees no GPU "
                "(tf.config.list_physical_devices('GPU') is empty)"
            )
        return ItemOutcome("skipped", environment=env.fingerprint, skip=NO_GPU, record=record)
    declared = applicable(case.divergences, item.path, item.dtype, item.device, env, item.mode, case.layer)
    run: PathRun | None = None
    error: BaseException | None = None
    against_instead: dict[int, list[Finding]] = {}
    try:
        run = execute(env, case, item)
        steps, call = run.steps, run.main_call
        results = _results(case, item, run, env, options, record, baselines.explained_by(declared))
        against_instead = _against_instead(case, item, run, env, declared)
    except PathError as exc:
        steps, call, error, results = exc.steps, exc.call, exc.error, []
    findings = [f for r in results for f in r.findings]
    outcome = decide(declared, error, call, findings, against_instead)
    if error is not None and outcome.status == "xfailed" and options.record_dir is not None:
        record["recorded"] = baselines.record_divergence(
            case, item, options.record_dir, env.fingerprint, outcome.reason
        )
    record.update(
        outcome=outcome.status,
        kernel=str(run.kernel) if run else None,
        kernel_kind=run.kernel.kind if run else None,
        kernel_evidence=run.kernel.evidence if run else None,
        reason=outcome.reason,
        checks={r.name: ("failed" if r.failed else "n/a" if r.not_applicable else "passed") for r in results},
        worst={r.name: r.worst for r in results if r.worst},
        **{r.name: r.details for r in results if r.details},
        duration=time.perf_counter() - started,
    )
    return ItemOutcome(
        outcome.status,
        header(case, item, env, str(run.kernel) if run else None, steps),
        outcome.reason,
        outcome.problems,
        record=record,
        environment=env.fingerprint,
    )


def _tolerances(case: Case, item: ItemId, env: tfenv.TFEnv) -> tuple[Tolerance, Tolerance]:
    return for_item(item.dtype, case.expect.tolerance, tf32=env.tf32 and item.device == "gpu")


def _against_instead(
    case: Case, item: ItemId, run: PathRun, env: tfenv.TFEnv, declared: list[Divergence]
) -> dict[int, list[Finding]]:
    """For each declared divergence that names the behaviour followed instead: the checks' findings against
    that behaviour's reference (the findings it names must vanish there)."""
    out = {}
    for i, d in enumerate(declared):
        if d.instead:
            ref = registry.alternative(d.instead)(case, run.data, run.family)
            results = evaluate(case, item.dtype, run, _tolerances(case, item, env), ref)
            out[i] = [f for r in results for f in r.findings]
    return out


def _results(
    case: Case,
    item: ItemId,
    run: PathRun,
    env: tfenv.TFEnv,
    options: JudgeOptions,
    record: dict[str, Any],
    explained: dict[str, str],
) -> list[CheckResult]:
    """Every check of the case on the run; the baseline comparison or recording when asked for."""
    tols = _tolerances(case, item, env)
    results = evaluate(case, item.dtype, run, tols)
    if options.baseline_dir is not None:
        results.append(baselines.check(run, case, item.dtype, options.baseline_dir, tols, explained))
    if options.record_dir is not None:
        record["recorded"] = baselines.record(
            run, case, item.dtype, options.record_dir, tols, env.fingerprint, explained
        )
    if case.expect.saving:
        roots = [(options.baseline_dir, True)] if options.baseline_dir is not None else []
        roots += [(root, False) for root in carry_over.shipped_roots()]
        if roots:
            results.append(carry_over.check(run, case, roots, tols))
        if options.record_dir is not None:
            record["saved"] = carry_over.record(run, case, options.record_dir, env.fingerprint)
    return results
