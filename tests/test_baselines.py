"""Golden baselines: record, compare, and every way a comparison must not pass silently."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import forked
import numpy as np
import pytest

from conformance.checks import baseline

pytestmark = pytest.mark.requires_tf

CASES = """
[defaults]
layer = "lstm"
batch = 2
timesteps = 3
features = 2
units = 3
devices = ["cpu"]
paths = ["manual_loop", "fused_layer"]
options = { return_sequences = true, return_state = true }
initial_state = { kind = "random" }

[[case]]
id = "one"

[[case]]
id = "two"
dtypes = ["float16"]
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", *args)


@pytest.fixture
def recorded(pytester: pytest.Pytester) -> Path:
    pytester.makefile(".toml", cases=CASES)
    result = run(pytester, "--conformance-record", "base")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*conformance: baseline recorded*", "4 new"])
    return pytester.path / "base"


def test_record_writes_one_self_describing_entry_per_item(recorded: Path) -> None:
    entries = sorted(p.relative_to(recorded).as_posix() for p in recorded.rglob("*.npz"))
    assert entries == [
        "one/fused_layer-call-float32-cpu-eager.npz",
        "one/manual_loop-call-float32-cpu-eager.npz",
        "two/fused_layer-call-float16-cpu-eager.npz",
        "two/manual_loop-call-float16-cpu-eager.npz",
    ]
    arrays, meta = baseline.read(recorded / "one/manual_loop-call-float32-cpu-eager.npz")
    assert set(arrays) == {
        "output",
        "state.h",
        "state.c",
        "grad.inputs",
        "grad.state.h",
        "grad.state.c",
        "grad.kernel",
        "grad.recurrent_kernel",
        "grad.bias",
    }
    assert meta["format"] == 1 and meta["item"]["case"] == "one" and meta["fingerprint"]["tensorflow"]
    assert all(a.dtype == np.float64 for a in arrays.values())


def test_float16_values_are_stored_without_loss(recorded: Path) -> None:
    arrays, _ = baseline.read(recorded / "two/manual_loop-call-float16-cpu-eager.npz")
    out = arrays["output"]
    assert np.array_equal(out.astype(np.float16).astype(np.float64), out)


def test_compare_passes_on_the_same_tf(pytester: pytest.Pytester, recorded: Path) -> None:
    run(pytester, "--conformance-baseline", "base").assert_outcomes(passed=4)


def test_one_edited_number_fails_exactly_that_item(pytester: pytest.Pytester, recorded: Path) -> None:
    entry = recorded / "one/fused_layer-call-float32-cpu-eager.npz"
    arrays, meta = baseline.read(entry)
    arrays["output"][1, 2, 0] += 1e-3
    baseline.write(entry, arrays, {k: v for k, v in meta.items() if k != "format"})
    result = run(pytester, "--conformance-baseline", "base")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*one*fused_layer-call-eager-float32-cpu*",
            "[[]baseline[]] output vs baseline: 1 of 18 elements differ*",
            "*max abs error 0.001 at (1, 2, 0)*",
            "*largest error / tolerance:*",
            "*max ULPs (float32):*",
            "*recorded on TF *one/fused_layer-call-float32-cpu-eager.npz)",
        ]
    )


def test_an_item_missing_from_the_baseline_fails(pytester: pytest.Pytester, recorded: Path) -> None:
    (recorded / "two/manual_loop-call-float16-cpu-eager.npz").unlink()
    result = run(pytester, "--conformance-baseline", "base")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        ["*[[]baseline[]] not in the baseline: no entry *two/manual_loop-call-float16*"]
    )


def test_a_changed_case_is_reported_not_compared(pytester: pytest.Pytester, recorded: Path) -> None:
    pytester.makefile(".toml", cases=CASES.replace('id = "two"', 'id = "two"\nunits = 4'))
    result = run(pytester, "--conformance-baseline", "base")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        ["*[[]baseline[]] the case changed since *was recorded (case hash*re-record*"]
    )


def test_rerecording_says_what_changed(pytester: pytest.Pytester, recorded: Path) -> None:
    entry = recorded / "one/manual_loop-call-float32-cpu-eager.npz"
    arrays, meta = baseline.read(entry)
    arrays["grad.kernel"][0, 0] += 1.0
    baseline.write(entry, arrays, {k: v for k, v in meta.items() if k != "format"})
    result = run(pytester, "--conformance-record", "base")
    result.stdout.fnmatch_lines(
        [
            "1 changed, 3 unchanged",
            "*changed: *one[[]manual_loop-call-eager-float32-cpu[]]: grad.kernel moved*",
        ]
    )
    assert baseline.read(entry)[0]["grad.kernel"][0, 0] != arrays["grad.kernel"][0, 0]


def test_baseline_drift_reaches_results_and_report(pytester: pytest.Pytester, recorded: Path) -> None:
    run(pytester, "--conformance-baseline", "base", "--conformance-results", "r.json").assert_outcomes(
        passed=4
    )
    items = json.loads((pytester.path / "r.json").read_text())["items"]
    drift = items[0]["baseline"]
    assert set(drift["output"]) == {"max_abs", "max_rel", "max_ulps", "worst", "beyond"}
    report = pytester.run(sys.executable, "-m", "conformance", "report", "r.json")
    report.stdout.fnmatch_lines(["## Drift from the baseline (4 compared, 0 beyond tolerance)"])


def test_record_and_baseline_are_exclusive(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", cases=CASES)
    result = run(pytester, "--conformance-record", "a", "--conformance-baseline", "a")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*exclusive*"])


def test_entries_are_read_without_pickle(tmp_path: Path) -> None:
    """A baseline is data: an entry holding a pickled object is refused, not unpickled."""
    evil = tmp_path / "evil.npz"
    np.savez(evil, __meta__=np.array(json.dumps({"format": 1})), output=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        baseline.read(evil)


# -- the documented workflow: what a declared divergence explains is reported, not failed -------------
ONE = """
[[case]]
id = "one"
layer = "lstm"
batch = 2
timesteps = 3
features = 2
units = 3
devices = ["cpu"]
paths = ["fused_layer"]
dtypes = ["float32"]
expect = { checks = ["agreement", "gradient"] }
"""
EVERYWHERE = 'when = { flavour = ["keras2", "keras3", "tf_keras"] }\n'
RAISES = ONE + "[[case.divergence]]\n" + EVERYWHERE + 'raises = "RuntimeError"\nmatch = "boom"\n'
RAISES += 'reason = "the old release raises here"\n'
SHIFTED = ONE + "[[case.divergence]]\n" + EVERYWHERE
SHIFTED += 'differs = [{ check = "agreement", what = ["output"] }]\nreason = "the old release adds 1e-3"\n'
RAISE_PATCH = """
def call(self, *a, **kw):
    raise RuntimeError("boom")
K.layers.LSTM.__call__ = call
"""
SHIFT_PATCH = """
orig = K.layers.LSTM.__call__
def call(self, *a, **kw):
    out = orig(self, *a, **kw)
    return [out[0] + 1e-3, *out[1:]] if isinstance(out, (list, tuple)) else out + 1e-3
K.layers.LSTM.__call__ = call
"""


def _compare_clean(pytester: pytest.Pytester) -> dict[str, object]:
    """The release compared with the baseline: Keras unpatched, the case file without the declaration."""
    (pytester.path / "conftest.py").unlink()
    pytester.makefile(".toml", victim=ONE)
    result = forked.runpytest(
        pytester,
        "-p",
        "no:cacheprovider",
        "--conformance-baseline",
        "base",
        "--conformance-results",
        "r.json",
    )
    result.assert_outcomes(passed=1)
    (item,) = json.loads((pytester.path / "r.json").read_text())["items"]
    return item  # type: ignore[no-any-return]


def test_an_item_recorded_as_a_declared_divergence_is_reported_with_its_reason(
    pytester: pytest.Pytester,
) -> None:
    from conftest import run_broken

    recorded = run_broken(pytester, RAISES, RAISE_PATCH, "--conformance-record", "base")
    recorded.assert_outcomes(xfailed=1)
    item = _compare_clean(pytester)
    assert item["checks"]["baseline"] == "n/a"  # type: ignore[index]
    assert item["baseline"] == {"recorded_divergence": item["baseline"]["recorded_divergence"]}  # type: ignore[index]
    assert "the old release raises here" in item["baseline"]["recorded_divergence"]  # type: ignore[index]


def test_drift_a_divergence_on_the_recording_side_explains_is_named_not_failed(
    pytester: pytest.Pytester,
) -> None:
    from conftest import run_broken

    run_broken(pytester, SHIFTED, SHIFT_PATCH, "--conformance-record", "base").assert_outcomes(xfailed=1)
    item = _compare_clean(pytester)
    assert item["baseline"]["explained"] == {"output": "the old release adds 1e-3"}  # type: ignore[index]


def test_drift_nothing_explains_still_fails(pytester: pytest.Pytester) -> None:
    from conftest import run_broken

    run_broken(pytester, ONE, SHIFT_PATCH, "--conformance-record", "base").assert_outcomes(failed=1)
    (pytester.path / "conftest.py").unlink()
    result = forked.runpytest(pytester, "-p", "no:cacheprovider", "--conformance-baseline", "base")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["[[]baseline] output vs baseline: * elements differ*"])
