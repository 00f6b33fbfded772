"""Results files and the cross-version report: what changed comes first, nothing is dropped silently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance import registry
from conformance.__main__ import main
from conformance.results import report
from conformance.results.file import FORMAT, write_atomic

ENV_215 = {
    "tensorflow": "2.15.1",
    "keras_flavour": "keras2",
    "keras": "2.15.1",
    "env": {"TOX_ENV_NAME": "tf2.15"},
}
ENV_221 = {
    "tensorflow": "2.21.0",
    "keras_flavour": "keras3",
    "keras": "3.15.1",
    "env": {"TOX_ENV_NAME": "tf2.21"},
}


def item(
    case: str,
    outcome: str,
    *,
    path: str = "manual_loop",
    kernel: str | None = "loop",
    worst: float = 0.01,
    reason: str = "",
) -> dict[str, Any]:
    return {
        "case": case,
        "variant": "",
        "path": path,
        "dtype": "float32",
        "device": "cpu",
        "mode": "eager",
        "nodeid": f"c.toml::{case}[{path}-eager-float32-cpu]",
        "outcome": outcome,
        "kernel": kernel,
        "reason": reason,
        "worst": {"agreement": worst} if outcome == "passed" else {},
        "duration": 0.1,
    }


def results(path: Path, env: dict[str, Any], items: list[dict[str, Any]], status: str = "complete") -> Path:
    write_atomic(
        path, {"format": FORMAT, "status": status, "environment": env, "items": items, "collect_errors": []}
    )
    return path


@pytest.fixture
def two_runs(tmp_path: Path) -> list[Path]:
    old = [
        item("seed", "passed"),
        item("numpy-state", "xfailed", reason="known divergence: Keras 2 refuses"),
        item("steady", "passed", path="fused_layer", kernel="standard_lstm"),
        item("drifty", "passed", worst=0.1),
        item("breaks", "passed"),
    ]
    new = [
        item("seed", "xfailed", reason="known divergence: Keras 3 TypeError"),
        item("numpy-state", "passed"),
        item("steady", "passed", path="fused_layer", kernel="generic loop"),
        item("drifty", "passed", worst=0.9),
        item("breaks", "failed", reason="[agreement] output differs"),
    ]
    return [results(tmp_path / "a.json", ENV_215, old), results(tmp_path / "b.json", ENV_221, new)]


def test_changes_come_first_each_named_by_kind(two_runs: list[Path]) -> None:
    built = report.build(two_runs)
    kinds = [(c.item.split(" ·")[0], c.kind) for c in built.changes]
    assert kinds == [
        ("breaks", "new failure"),
        ("seed", "divergence appeared"),
        ("numpy-state", "divergence gone"),
        ("steady", "kernel"),
    ]
    assert "Keras 3 TypeError" in built.changes[1].detail
    assert [r.label for r in built.runs] == ["tf2.15", "tf2.21"]


def test_largest_drift_is_listed_first(two_runs: list[Path]) -> None:
    key, ratios, spread = report.build(two_runs).drift[0]
    assert key.startswith("drifty") and ratios == [0.1, 0.9] and spread == pytest.approx(0.8)


def test_markdown_puts_what_changed_before_the_matrix(two_runs: list[Path]) -> None:
    text = registry.report_format("md")(report.build(two_runs))
    assert (
        text.index("## What changed (4)")
        < text.index("## Largest numeric drift")
        < text.index("## All items")
    )
    assert "| breaks · manual_loop · float32 · cpu · eager | new failure | passed | failed |" in text
    assert "| environment | TF 2.15.1 · keras2 2.15.1 | TF 2.21.0 · keras3 3.15.1 |" in text


def test_html_is_self_contained_sortable_and_coloured(two_runs: list[Path]) -> None:
    page = registry.report_format("html")(report.build(two_runs))
    assert "<script>" in page and "sortable" in page and "hsl(" in page
    assert "http://" not in page and "https://" not in page  # no external assets


@pytest.mark.parametrize(
    ("content", "status", "says"),
    [
        (None, "missing", "results file not found"),
        ("{not json", "broken", "unreadable results file"),
        ('{"format": 99, "items": []}', "broken", "not a results file of format 1"),
    ],
)
def test_a_missing_or_broken_file_is_an_error_column(
    two_runs: list[Path], tmp_path: Path, content: str | None, status: str, says: str
) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    built = report.build([*two_runs, bad])
    assert [r.status for r in built.runs] == ["complete", "complete", status]
    text = registry.report_format("md")(built)
    assert f"**ERROR: {says}" in text and "| tf2.15 | tf2.21 | bad |" in text
    assert main(["report", *map(str, two_runs), str(bad), "-o", str(tmp_path / "r.md")]) == 1


def test_a_run_that_did_not_finish_says_so(tmp_path: Path) -> None:
    partial = results(tmp_path / "p.json", ENV_221, [item("seed", "passed")], status="running")
    (run,) = report.build([partial]).runs
    assert run.status == "incomplete" and "did not finish" in run.error and run.items


def test_cli_writes_every_format(two_runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        main(
            [
                "report",
                *map(str, two_runs),
                "--markdown",
                str(out / "r.md"),
                "--html",
                str(out / "r.html"),
                "--json",
                str(out / "r.json"),
                "-o",
                str(out / "r.md"),
            ]
        )
        == 0
    )
    data = json.loads((out / "r.json").read_text())
    assert data["changes"][0]["kind"] == "new failure"
    assert (out / "r.html").read_text().startswith("<!doctype html>")


def test_a_folder_stands_for_its_results_files(two_runs: list[Path]) -> None:
    assert [r.label for r in report.build([two_runs[0].parent]).runs] == ["tf2.15", "tf2.21"]


@pytest.mark.requires_tf
def test_results_file_of_a_real_run(pytester: pytest.Pytester) -> None:
    """The plugin writes the record: fingerprint, and per item outcome, kernel, error vs tolerance, time."""
    pytester.makefile(
        ".toml",
        c='[[case]]\nid = "r"\nbatch = 1\ntimesteps = 2\nfeatures = 2\nunits = 2\n'
        'paths = ["manual_loop", "fused_layer"]\ndevices = ["cpu"]\n'
        '[[case.divergence]]\npaths = ["fused_layer"]\ndiffers = [{ check = "agreement", what = '
        '["output"] }]\n'
        'reason = "pretend"\n',
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-results", "out/r.json")
    result.assert_outcomes(passed=1, failed=1)
    data = json.loads((pytester.path / "out/r.json").read_text())
    assert data["status"] == "complete" and data["format"] == FORMAT and data["exitstatus"] == 1
    env = data["environment"]
    assert {
        "python",
        "tensorflow",
        "keras",
        "keras_flavour",
        "numpy",
        "cpu",
        "tf_build",
        "gpus",
        "env",
    } <= set(env)
    by_path = {i["path"]: i for i in data["items"]}
    assert by_path["manual_loop"]["outcome"] == "passed" and by_path["manual_loop"]["kernel"]
    assert by_path["manual_loop"]["worst"]["agreement"] < 1 and by_path["manual_loop"]["duration"] > 0
    assert by_path["fused_layer"]["outcome"] == "failed"
    assert "known divergence is gone" in by_path["fused_layer"]["reason"]
    assert not list((pytester.path / "out").glob(".*.tmp"))  # no temporary file left behind
