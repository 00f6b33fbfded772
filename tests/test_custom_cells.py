"""Bring your own cell: a peephole LSTM written in a test folder runs through the paths from a case file."""

from __future__ import annotations

import shutil
from pathlib import Path

import forked
import pytest

pytestmark = pytest.mark.requires_tf

HERE = Path(__file__).parent / "custom_cells"


@pytest.fixture
def folder(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's folder: the cell module, its case file, and pythonpath = . so the module imports."""
    for name in ("peephole.py", "peephole.toml"):
        shutil.copy(HERE / name, pytester.path / name)
    pytester.makeini("[pytest]\npythonpath = .\n")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return forked.runpytest(pytester, "-p", "no:cacheprovider", "-rx", *args)


def test_peephole_cell_runs_through_loop_and_wrapper(folder: pytest.Pytester) -> None:
    result = run(folder, "-v")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        [
            "*peephole-no-reference[[]manual_loop-call-eager-float32-cpu[]] PASSED*",
            "*peephole-no-reference[[]rnn_wrapper-call-eager-float32-cpu[]] PASSED*",
            "*peephole-with-reference[[]rnn_wrapper-call-eager-float64-cpu[]] PASSED*",
            "*python loop over peephole:PeepholeLSTMCell.call*",
        ]
    )


def test_a_wrong_gate_is_caught_by_the_reference(folder: pytest.Pytester) -> None:
    """The cell's input gate peeks at the wrong peephole row: every item with a reference fails."""
    source = folder.path / "peephole.py"
    text = source.read_text()
    source.write_text(text.replace("i = tf.sigmoid(z_i + p[0] * c)", "i = tf.sigmoid(z_i + p[1] * c)"))
    result = run(folder)
    result.assert_outcomes(passed=2, failed=4)
    result.stdout.fnmatch_lines(
        ["*[[]agreement[]] output of *vs reference peephole:peephole_reference:*differ*"]
    )


def test_without_a_reference_the_wrapper_must_agree_with_the_loop(folder: pytest.Pytester) -> None:
    """No oracle, no reference: the RNN wrapper is held to the manual loop over the same cell."""
    folder.makeconftest(
        "import tensorflow as tf\n"
        "orig = tf.keras.layers.RNN.__call__\n"
        "def call(self, *a, **kw):\n"
        "    out = orig(self, *a, **kw)\n"
        "    return [out[0] * 1.01, *out[1:]] if isinstance(out, (list, tuple)) else out * 1.01\n"
        "tf.keras.layers.RNN.__call__ = call\n"
    )
    result = run(folder, "-k", "no-reference")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*[[]agreement[]] output of layer(x, initial_state=*) vs manual loop:*differ*"]
    )


def test_gradients_that_stop_flowing_are_caught_without_an_oracle(folder: pytest.Pytester) -> None:
    """A cell that cuts the gradient through its carried state: zero gradient to the initial c."""
    source = folder.path / "peephole.py"
    source.write_text(
        source.read_text().replace(
            "h, c = states[0], states[1]", "h, c = states[0], tf.stop_gradient(states[1])"
        )
    )
    result = run(folder, "-k", "no-reference")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*[[]gradient[]] d loss / d state.s1 is *"])


def test_collection_does_not_import_the_users_module(folder: pytest.Pytester) -> None:
    """Importing a user's module is code a case file causes to run: only when an item runs."""
    (folder.path / "peephole.py").write_text("raise RuntimeError('imported at collection')\n")
    result = run(folder, "--co", "-q")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["6 tests collected*"])
    ran = run(folder, "-k", "no-reference and manual_loop")
    ran.assert_outcomes(failed=1)
    ran.stdout.fnmatch_lines(["*raised RuntimeError: imported at collection*"])
