"""Generated docs stay generated: docs/tolerances.md's defaults are the code's (regenerate it with
bench/tolerances.py after changing conformance/checks/tolerance.py)."""

from __future__ import annotations

import importlib.util

from conftest import REPO


def test_the_tolerances_page_states_the_defaults_in_the_code() -> None:
    spec = importlib.util.spec_from_file_location("bench_tolerances", REPO / "bench" / "tolerances.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    expected = bench.render([]).split("## Measured")[0]
    page = (REPO / "docs" / "tolerances.md").read_text(encoding="utf-8")
    assert page.startswith(expected), (
        "docs/tolerances.md is stale: python bench/tolerances.py RESULTS... --write"
    )
