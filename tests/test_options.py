"""The plugin's report header and its options as pytest shows them.

The header says what is under test, read from package metadata (TensorFlow is not imported to print it):
the TF distribution and version, which Keras ``tf.keras`` is, and the environment variables that matter.
"""

from __future__ import annotations

import os
import platform
from types import ModuleType

import numpy as np
import pytest
from conftest import assert_no_kit_traceback

import conformance.run.tfenv

CASE = '[[case]]\nid = "c"\nbatch = 1\ntimesteps = 2\nfeatures = 2\nunits = 2\npaths = ["manual_loop"]\n'
NOT_INSTALLED = "conformance: TensorFlow is not installed*"


def expected_flavour(tf: ModuleType) -> str:
    """tf.keras's flavour, found independently of the kit."""
    if tf.keras.__name__.startswith("tf_keras"):
        return "tf_keras"
    version = getattr(tf.keras, "__version__", None) or tf.__version__
    return "keras3" if int(version.split(".")[0]) >= 3 else "keras2"


@pytest.mark.requires_tf
def test_header_names_tensorflow_keras_python_numpy(
    pytester: pytest.Pytester, tf: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With TF installed: distribution and version, the Keras flavour, python, numpy and env vars."""
    monkeypatch.setenv("TF_DETERMINISTIC_OPS", "1")
    monkeypatch.delenv("TF_USE_LEGACY_KERAS", raising=False)
    result = pytester.runpytest("--co", "-q", "-v")
    flavour = expected_flavour(tf)
    keras = {"keras2": f"Keras 2 (tf.keras {tf.__version__})", "keras3": "Keras 3 * (as tf.keras)"}[flavour]
    result.stdout.fnmatch_lines(
        [
            f"conformance: tensorflow* {tf.__version__}, {keras}, flavour {flavour}",
            f"conformance: python {platform.python_version()}, numpy {np.__version__}, env: *"
            "TF_DETERMINISTIC_OPS=1*",
        ]
    )
    assert "not installed" not in result.stdout.str()


@pytest.mark.requires_tf
def test_header_says_none_set_without_env_vars(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in conformance.run.tfenv.ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    result = pytester.runpytest("--co", "-v")
    result.stdout.fnmatch_lines(["conformance: python *, env: none set"])


def test_header_without_tensorflow_installed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No TF distribution in the metadata: one header line saying so (in any interpreter)."""
    monkeypatch.setattr(
        conformance.run.tfenv,
        "installed",
        lambda: conformance.run.tfenv.Installed(None, None, None, None),
    )
    pytester.makefile(".toml", c=CASE)
    result = pytester.runpytest("--co", "-v")
    result.stdout.fnmatch_lines([NOT_INSTALLED])
    assert "flavour" not in result.stdout.str()
    assert result.ret == 0  # collection itself does not need TensorFlow


def test_items_error_cleanly_when_tensorflow_cannot_be_imported(
    pytester: pytest.Pytester, kit_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TF missing or broken at run time: every item errors with one clear line, no traceback.

    A stub ``tensorflow`` package that raises ImportError shadows any real one, so this runs (and can fail)
    in every environment, CI's included; the header without TF is covered by the test above.
    """
    stub = pytester.mkdir("stub") / "tensorflow"
    stub.mkdir()
    (stub / "__init__.py").write_text("raise ImportError('tensorflow is broken here (stub)')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(stub.parent), os.environ.get("PYTHONPATH", "")]))
    pytester.makefile(".toml", c=CASE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-devices=cpu")
    result.stdout.fnmatch_lines(["*TensorFlow cannot be imported (tensorflow is broken here (stub))*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert result.parseoutcomes().get("passed", 0) == 0
    assert_no_kit_traceback(result.stdout.str())


def test_help_lists_the_options(pytester: pytest.Pytester) -> None:
    """``--help`` shows the conformance group with both options and both ini keys."""
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*TF recurrent-API conformance*",
            "*--conformance-cases=PATH*",
            "*--conformance-devices=LIST*",
        ]
    )
    result.stdout.fnmatch_lines(["*conformance_cases *", "*conformance_devices *"])
