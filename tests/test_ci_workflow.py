"""The GitHub Actions workflow docs/ci.md describes runs envs that exist, and the report job merges them.

Its schema validity is the lint env's job (check-jsonschema's vendored GitHub workflow schema).
"""

from __future__ import annotations

import itertools
import re

from conftest import REPO

WORKFLOW = (REPO / ".github" / "workflows" / "conformance.yml").read_text(encoding="utf-8")


def _tox_envs() -> set[str]:
    """tox.ini's env_list with its brace groups expanded."""
    ini = (REPO / "tox.ini").read_text(encoding="utf-8")
    block = ini.split("env_list =", 1)[1].split("\n[", 1)[0]
    envs: set[str] = set()
    for line in block.split():
        parts = [p.split(",") for p in re.split(r"[{}]", line)]
        envs.update("".join(combo) for combo in itertools.product(*parts))
    return envs


def _matrix(job: str) -> list[str]:
    body = WORKFLOW.split(f"\n  {job}:\n", 1)[1].split("\n  report:\n", 1)[0]
    block = body.split("matrix:", 1)[1].split("steps:", 1)[0]
    inline = re.search(r"env: \[(.*?)\]", block)
    return [e.strip() for e in inline.group(1).split(",")] if inline else re.findall(r"- (\S+)", block)


def test_every_job_runs_an_env_that_tox_has() -> None:
    envs = _tox_envs()
    jobs = _matrix("kit") + _matrix("suite")
    assert {"kit", "kit-keras2", "lint", "tf2.15", "tf2.21"} <= set(jobs)
    assert set(jobs) <= envs, set(jobs) - envs


def test_the_suite_matrix_is_the_whole_release_matrix() -> None:
    releases = {e for e in _tox_envs() if e.startswith("tf2.")}
    assert set(_matrix("suite")) == releases


def test_the_report_job_merges_every_results_file_and_posts_the_verdict() -> None:
    report = WORKFLOW.split("\n  report:\n", 1)[1]
    assert "if: always()" in report and "merge-multiple: true" in report
    assert "python -m tox -e report" in report and "GITHUB_STEP_SUMMARY" in report
    assert "path: results/${{ matrix.env }}.json" in WORKFLOW


def test_readme_names_the_keras_each_env_pins() -> None:
    """README's table of Keras minors is tox.ini's pins (what the header then shows as installed)."""
    ini = (REPO / "tox.ini").read_text(encoding="utf-8")
    pins = dict(re.findall(r"(tf2\.\d+)-!newest(?:-!legacy)?: keras==(\d+\.\d+)\.\*", ini))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    header = next(line for line in readme.splitlines() if line.startswith("| env | tf2.12"))
    keras = next(line for line in readme.splitlines() if line.startswith("| Keras | Keras 2"))
    table = dict(zip(header.split("|")[2:-1], keras.split("|")[2:-1]))
    assert {env.strip(): v.strip() for env, v in table.items() if env.strip() in pins} == pins
    assert len(pins) == 6
