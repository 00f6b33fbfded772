"""Shared fixtures of the kit's own tests: pytester, TensorFlow gating, and helpers to run the plugin.

Tests that need TensorFlow carry the ``requires_tf`` marker (or use the ``tf`` fixture). Without an
importable TensorFlow they skip, unless ``CONFORMANCE_REQUIRE_TF=1`` (set in CI), in which case they fail:
a CI job that was meant to test against TF can never go green by skipping everything.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import forked
import pytest

pytest_plugins = ["pytester"]

# A user's folder used as data by test_custom_cells.py (copied into pytester dirs); not a suite of ours.
collect_ignore = ["custom_cells"]

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "cases"

# The kit is imported from this checkout even where it is not installed (system python3 run from
# elsewhere): pytester's in-process runs find the plugin's entry point through the egg-info here.
if importlib.util.find_spec("conformance") is None:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(REPO))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pytester restores sys.modules after each in-process run, so a module that another plugin imports lazily
# during a run (hypothesis's pytest plugin does, in its terminal summary) is re-imported, assertion-rewritten,
# by every run: about a second each. Imported once here, it is part of what pytester restores.
with contextlib.suppress(ImportError):
    import hypothesis  # noqa: F401

#: A kit source line in a traceback ("conformance/casefile.py:123", 'File ".../conformance/run.py"').
KIT_SOURCE = re.compile(r"conformance[/\\]\w+(?:[/\\]\w+)*\.py")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "requires_tf: the test runs TensorFlow; skips when it is not importable, fails instead "
        "when CONFORMANCE_REQUIRE_TF=1",
    )


def tf_required() -> bool:
    """CI sets CONFORMANCE_REQUIRE_TF=1 so that TensorFlow tests cannot silently skip."""
    return os.environ.get("CONFORMANCE_REQUIRE_TF", "").strip() == "1"


def require_tf() -> ModuleType:
    """Import TensorFlow, or skip the calling test (fail it under CONFORMANCE_REQUIRE_TF=1)."""
    try:
        import tensorflow as tf
    except ImportError as exc:
        message = f"TensorFlow is not importable ({exc})"
        if tf_required():
            pytest.fail(f"{message}, but CONFORMANCE_REQUIRE_TF=1 requires it", pytrace=False)
        pytest.skip(message)
    return tf


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("requires_tf") is not None:
        require_tf()


@pytest.fixture
def tf() -> ModuleType:
    """The TensorFlow module (skips or fails the test as :func:`require_tf` says)."""
    return require_tf()


@pytest.fixture
def kit_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let subprocess runs import the kit from this checkout (system python3 has it only on sys.path)."""
    parts = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(parts))


def assert_no_kit_traceback(text: str) -> None:
    """A clean report: no Python traceback, no kit source location."""
    assert "Traceback" not in text, text
    found = KIT_SOURCE.search(text)
    assert found is None, f"kit source line {found.group(0)!r} in the report:\n{text}"


def collected_ids(stdout_lines: list[str]) -> list[str]:
    """The ``file::name`` lines of ``--co -q`` output."""
    return [
        line.strip() for line in stdout_lines if "::" in line and not line.startswith(("ERROR", "FAILED"))
    ]


def flavour(tf: ModuleType) -> str:
    """Which Keras ``tf.keras`` is, found independently of the kit."""
    if tf.keras.__name__.startswith("tf_keras"):
        return "tf_keras"
    version = getattr(tf.keras, "__version__", None) or tf.__version__
    return "keras3" if int(version.split(".")[0]) >= 3 else "keras2"


def run_cases(pytester: pytest.Pytester, text: str, *args: str) -> pytest.RunResult:
    """Run one case file's text in pytester, in process, and insist on a report without kit tracebacks."""
    pytester.makefile(".toml", cases=text)
    result = pytester.runpytest("-rxXfs", "-p", "no:cacheprovider", *args)
    assert_no_kit_traceback(result.stdout.str())
    return result


def run_broken(pytester: pytest.Pytester, case_text: str, patch: str = "", *args: str) -> pytest.RunResult:
    """Run a case file (as ``victim.toml``) in a process of its own with Keras patched by ``patch`` (a
    conftest body that sees ``tf`` and ``K = tf.keras``), so a deliberate breakage can never leak into another
    test (forked from a process with TensorFlow imported: :mod:`forked`)."""
    if patch:
        pytester.makeconftest("import tensorflow as tf\nK = tf.keras\n" + textwrap.dedent(patch))
    pytester.makefile(".toml", victim=case_text)
    return forked.runpytest(pytester, "-p", "no:cacheprovider", *args)


def assert_breakage_reported(result: pytest.RunResult, lines: list[str]) -> None:
    """At least one item failed, with a report carrying ``lines`` and no traceback."""
    __tracebackhide__ = True
    assert result.parseoutcomes().get("failed", 0) >= 1, result.stdout.str()
    result.stdout.fnmatch_lines(lines)
    result.stdout.no_fnmatch_line("*Traceback*")
