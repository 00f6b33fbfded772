"""Same seeds, same numbers: bit-identical CPU results run to run, whatever the order or the worker count.

Two of the shipped case files run under ``--conformance-deterministic`` four ways — twice in order, once in
reverse (a conftest reverses the collected items), once with ``-n 2`` — and every item's outcome, checks,
kernel and ``worst`` (largest error ÷ tolerance per check, a float64 computed from TF's outputs) must be
exactly equal across the four results files. Equal ``worst`` floats mean TF produced the same bits.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import forked
import pytest
from conftest import CASES

pytestmark = pytest.mark.requires_tf

SUBSET = ("seed_examples.toml", "lstm_dtypes.toml")  # 39 CPU items: seeded inputs, weights and states
ITEMS = 39
REVERSE = "def pytest_collection_modifyitems(items):\n    items.reverse()\n"


def run(pytester: pytest.Pytester, name: str, *args: str) -> dict[str, Any]:
    """One run of the subset; its results file, checked to be complete."""
    result = forked.runpytest(
        pytester,
        "cases",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--conformance-devices=cpu",
        "--conformance-results",
        f"{name}.json",
        *args,
        timeout=300,
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    data = json.loads((pytester.path / f"{name}.json").read_text())
    assert data["status"] == "complete" and len(data["items"]) == ITEMS, data
    return data


def verdicts(data: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Per item: outcome, per-check verdicts, kernel, and the exact error ÷ tolerance per check."""
    return {
        i["nodeid"]: (i["outcome"], i.get("checks"), i.get("kernel"), i.get("worst")) for i in data["items"]
    }


@pytest.fixture
def subset(pytester: pytest.Pytester) -> Path:
    folder = pytester.path / "cases"
    folder.mkdir()
    for name in SUBSET:
        shutil.copy(CASES / name, folder / name)
    return folder


def test_bit_identical_verdicts_across_runs_orders_and_workers(
    pytester: pytest.Pytester, subset: Path
) -> None:
    pytest.importorskip("xdist")
    first = run(pytester, "first", "--conformance-deterministic")
    again = run(pytester, "again", "--conformance-deterministic")
    pytester.makeconftest(REVERSE)
    backwards = run(pytester, "backwards", "--conformance-deterministic", "-v")
    (pytester.path / "conftest.py").unlink()
    parallel = run(pytester, "parallel", "--conformance-deterministic", "-n", "2")

    assert first["environment"]["op_determinism"] is True
    reference = verdicts(first)
    assert any(worst for *_, worst in reference.values()), "no item recorded its errors"
    for label, other in (("repeated", again), ("reversed", backwards), ("-n 2", parallel)):
        assert other["environment"]["op_determinism"] is True, label
        got = verdicts(other)
        differ = {k: (reference[k], got.get(k)) for k in reference if reference[k] != got.get(k)}
        assert not differ and got.keys() == reference.keys(), f"{label} run differs:\n{differ}"


def test_reversing_conftest_really_reverses(pytester: pytest.Pytester, subset: Path) -> None:
    """The reversed run above means something: the items do run last-first."""
    pytester.makeconftest(REVERSE)
    forward = pytester.runpytest("cases", "--co", "-q", "--noconftest")
    backward = pytester.runpytest("cases", "--co", "-q")
    ids = [line for line in forward.outlines if "::" in line]
    assert ids and [line for line in backward.outlines if "::" in line] == ids[::-1]


def test_op_determinism_is_recorded_off_by_default(pytester: pytest.Pytester) -> None:
    one = '[[case]]\nid = "one"\nbatch = 1\ntimesteps = 2\nfeatures = 2\nunits = 2\npaths = ["manual_loop"]\n'
    pytester.makefile(".toml", one=one)
    result = forked.runpytest(
        pytester, "-p", "no:cacheprovider", "--conformance-devices=cpu", "--conformance-results", "r.json"
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["conformance: item time limit 300 s (hard stop after 330 s); op determinism off"]
    )
    assert json.loads((pytester.path / "r.json").read_text())["environment"]["op_determinism"] is False
