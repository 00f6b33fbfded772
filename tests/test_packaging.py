"""The distribution: a pytest plugin that ships its cases and schema and does not depend on TensorFlow."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _not_source(folder: str, names: list[str]) -> set[str]:
    """What a build does not read: the checkout's envs (.tox, CI's .ci-work, which CI fills while these
    tests run), history, caches and outputs."""
    if Path(folder) == REPO:
        top = {n for n in names if n.startswith(".") or n in ("build", "dist", "results")}
    else:
        top = set()
    return {n for n in names if n in top or n == "__pycache__" or n.endswith(".egg-info")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools writes build/ and *.egg-info into the source tree, and two xdist
    # workers building from the checkout at once collide there.
    source = tmp_path_factory.mktemp("source") / "tree"
    shutil.copytree(REPO, source, ignore=_not_source)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("tf_rnn_conformance-*.whl")
    return zipfile.ZipFile(path)


def _metadata(wheel: zipfile.ZipFile, name: str) -> str:
    (member,) = [n for n in wheel.namelist() if n.endswith(f".dist-info/{name}")]
    return wheel.read(member).decode()


def test_ships_the_cases_the_schema_and_type_information(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    shipped = {p.name for p in (REPO / "cases").glob("*.toml")}
    assert {f"conformance/cases/{n}" for n in shipped} <= names
    assert {"conformance/case.schema.json", "conformance/py.typed", "conformance/plugin.py"} <= names


def test_ships_every_module_of_the_kit_and_the_saved_model_artifacts(wheel: zipfile.ZipFile) -> None:
    """A package folder missing from pyproject's list installs without it: the tox envs would break."""
    names = set(wheel.namelist())
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "conformance").rglob("*.py")}
    assert modules - names == set()
    artifacts = {
        "conformance/cases/" + p.relative_to(REPO / "cases").as_posix()
        for p in (REPO / "cases" / "artifacts").rglob("*")
        if p.is_file()
    }
    assert artifacts and artifacts - names == set()


def test_registers_the_plugin(wheel: zipfile.ZipFile) -> None:
    assert "[pytest11]\nconformance = conformance.plugin" in _metadata(wheel, "entry_points.txt")
    assert "Classifier: Framework :: Pytest" in _metadata(wheel, "METADATA")


def test_tensorflow_is_only_an_extra(wheel: zipfile.ZipFile) -> None:
    requires = [
        line for line in _metadata(wheel, "METADATA").splitlines() if line.startswith("Requires-Dist:")
    ]
    tf = [r for r in requires if "tensorflow" in r]
    assert tf and all("extra ==" in r for r in tf), requires
