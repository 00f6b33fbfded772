"""Results files and the cross-version report: what changed comes first, nothing is dropped silently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import forked
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
    context: str = "call",
    kernel: str | None = "loop",
    worst: float = 0.01,
    reason: str = "",
    problems: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "case": case,
        "variant": "",
        "path": path,
        "context": context,
        "dtype": "float32",
        "device": "cpu",
        "mode": "eager",
        "nodeid": f"c.toml::{case}[{path}-{context}-eager-float32-cpu]",
        "outcome": outcome,
        "kernel": kernel,
        "reason": reason,
        "worst": {"agreement": worst} if outcome == "passed" else {},
        "duration": 0.1,
        **({"problems": problems} if problems else {}),
    }


def results(path: Path, env: dict[str, Any], items: list[dict[str, Any]], status: str = "complete") -> Path:
    write_atomic(
        path, {"format": FORMAT, "status": status, "environment": env, "items": items, "collect_errors": []}
    )
    return path


BROKEN = "[agreement] output differs from the oracle in 12 of 24 elements: max abs error 0.3"


@pytest.fixture
def two_runs(tmp_path: Path) -> list[Path]:
    old = [
        item("seed", "passed"),
        item("seed", "passed", context="functional"),
        item("seed", "passed", context="sequential"),
        item("numpy-state", "xfailed", reason="known divergence: Keras 2 refuses"),
        item("steady", "passed", path="fused_layer", kernel="standard_lstm"),
        item("drifty", "passed", worst=0.1),
        item("breaks", "passed"),
        item("breaks", "passed", context="functional"),
        item("gpu-only", "skipped", reason="no GPU"),
    ]
    new = [
        item("seed", "xfailed", reason="known divergence: Keras 3 TypeError"),
        item("seed", "xfailed", context="functional", reason="known divergence: Keras 3 TypeError"),
        item("seed", "xfailed", context="sequential", reason="known divergence: Keras 3 TypeError"),
        item("numpy-state", "passed"),
        item("steady", "passed", path="fused_layer", kernel="generic loop"),
        item("drifty", "passed", worst=0.9),
        item("breaks", "failed", reason="long traceback", problems=[BROKEN]),
        item("breaks", "failed", context="functional", reason="long traceback", problems=[BROKEN]),
        item("gpu-only", "skipped", reason="no GPU"),
    ]
    # Named so that file order is not release order: a folder is read in release order.
    return [results(tmp_path / "b.json", ENV_215, old), results(tmp_path / "a.json", ENV_221, new)]


def test_the_first_line_is_a_verdict(two_runs: list[Path]) -> None:
    built = report.build(two_runs)
    assert built.verdict() == (
        "**2 undeclared changes** from tf2.15 (TF 2.15.1 · keras2 2.15.1) to tf2.21 "
        "(TF 2.21.0 · keras3 3.15.1): 2 items newly fail; 2 fail in tf2.21; "
        "4 changes as case files declare; 1 item runs another kernel; numbers moved in 1 item."
    )
    text = registry.report_format("md")(built)
    assert text.splitlines()[2] == built.verdict()


def test_a_green_upgrade_says_so(tmp_path: Path) -> None:
    a = results(tmp_path / "a.json", ENV_215, [item("seed", "passed")])
    b = results(tmp_path / "b.json", ENV_221, [item("seed", "passed")])
    assert report.build([a, b]).verdict().startswith("**No undeclared change** from tf2.15")


def test_changes_are_grouped_by_cause_with_their_contexts(two_runs: list[Path]) -> None:
    (transition,) = report.build(two_runs).transitions
    assert transition.name == "tf2.15 → tf2.21"
    rows = [(c.kind, c.count, c.by_context(), c.cause) for c in transition.causes]
    assert rows == [
        (
            "new failure",
            2,
            "call 1 · functional 1",
            "passed → failed: [agreement] output differs from the oracle in N of N elements",
        ),
        (
            "divergence appeared",
            3,
            "call 1 · functional 1 · sequential 1",
            "passed → xfailed: Keras 3 TypeError",
        ),
        ("divergence gone", 1, "call 1", "xfailed → passed: Keras 2 refuses"),
        ("kernel", 1, "call 1", "standard_lstm → generic loop"),
    ]
    assert (
        transition.summary() == "tf2.15 → tf2.21: 6 outcome changes; 1 kernel change; numbers moved in 1 item"
    )


def test_a_folder_is_read_in_release_order_and_its_report_json_skipped(two_runs: list[Path]) -> None:
    folder = two_runs[0].parent
    (folder / "report.json").write_text(json.dumps(report.to_json(report.build(two_runs))))
    assert [r.label for r in report.build([folder]).runs] == ["tf2.15", "tf2.21"]


def test_files_given_one_by_one_keep_their_order(two_runs: list[Path]) -> None:
    assert [r.label for r in report.build(two_runs[::-1]).runs] == ["tf2.21", "tf2.15"]


def test_drift_lists_only_items_passing_everywhere_largest_first(two_runs: list[Path]) -> None:
    drift = report.build(two_runs).drift
    key, ratios, spread = drift[0]
    assert key.startswith("drifty") and ratios == [0.1, 0.9] and spread == pytest.approx(0.8)
    assert not any(k.startswith(("breaks", "seed", "numpy-state")) for k, *_ in drift)


def test_items_skipped_everywhere_are_one_line(two_runs: list[Path]) -> None:
    built = report.build(two_runs)
    assert len(built.skipped_everywhere) == 1 and built.skip_reason == "no GPU"
    text = registry.report_format("md")(built)
    assert "1 items skipped in every environment are not listed: no GPU." in text
    assert "gpu-only" not in text


def test_markdown_puts_what_changed_before_the_matrix(two_runs: list[Path]) -> None:
    text = registry.report_format("md")(report.build(two_runs))
    assert text.index("## What changed") < text.index("## Largest numeric drift") < text.index("## All items")
    assert "### tf2.15 → tf2.21: 6 outcome changes; 1 kernel change; numbers moved in 1 item" in text
    assert (
        "| divergence appeared | 3 | call 1 · functional 1 · sequential 1 | passed → xfailed: Keras "
        "3 TypeError |" in text
    )
    assert "- breaks · manual_loop · functional · float32 · cpu · eager" in text
    assert "| case | path | context | mode | dtype | device | tf2.15 | tf2.21 |" in text
    assert "| environment | TF 2.15.1 · keras2 2.15.1 | TF 2.21.0 · keras3 3.15.1 |" in text


def test_html_is_self_contained_sortable_and_coloured(two_runs: list[Path]) -> None:
    page = registry.report_format("html")(report.build(two_runs))
    assert "<script>" in page and "sortable" in page and "hsl(" in page
    assert "http://" not in page and "https://" not in page  # no external assets
    assert report.build(two_runs).verdict().replace("**", "") in page.replace("<b>", "").replace("</b>", "")


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
    assert data["changes"][0]["kind"] == "new failure" and data["verdict"].startswith("**2 undeclared")
    assert data["transitions"][0]["causes"][0]["contexts"] == {"call": 1, "functional": 1}
    assert (out / "r.html").read_text().startswith("<!doctype html>")


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
    result = forked.runpytest(pytester, "-p", "no:cacheprovider", "--conformance-results", "out/r.json")
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


def test_the_saved_models_matrix_answers_can_we_read_what_the_old_release_wrote(tmp_path: Path) -> None:
    """Per format: writer x reader, each cell the items' verdicts; declared ones say so; 'not written'
    (not shipped, or a format the writer has none of) makes no row."""
    old = item("carry", "passed", path="fused_layer", context="functional")
    old["round_trip"] = {"h5.load_model": "agrees", "export.TFSMLayer": "unavailable: Keras 2 has none"}
    new = item("carry", "xfailed", path="fused_layer", context="functional")
    new["round_trip"] = {"h5.load_model": "agrees"}
    writer = "TF 2.15.1 (keras2 2.15.1)"
    new["carry_over"] = {writer: {"h5.load_model": "refuses", "saved_model.call": "not written: not shipped"}}
    a = results(tmp_path / "a.json", ENV_215, [old])
    b = results(tmp_path / "b.json", ENV_221, [new])
    rep = report.build([a, b])
    assert rep.saved["h5"][(report.SAME, "load_model")]["tf2.15"] == {"agrees": 1}
    assert rep.saved["h5"][(writer, "load_model")]["tf2.21"] == {"refuses (declared)": 1}
    assert "saved_model" not in rep.saved
    md = registry.report_format("md")(rep)
    assert "| TF 2.15.1 (keras2 2.15.1) | load_model |  | refuses 1 (declared) |" in md
    assert "| the same release | TFSMLayer | unavailable 1 |  |" in md
    html = registry.report_format("html")(rep)
    assert "Saved models: writer × reader" in html and "refuses 1 (declared)" in html
    assert json.loads(registry.report_format("json")(rep))["saved_models"]["h5"][0]["loader"] == "load_model"
