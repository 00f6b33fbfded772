"""The forked runner (:mod:`forked`) keeps what a subprocess gives the fault-injection tests: a breakage
stays in its run, the exit status and output come back, a hang is cut off, and a run that needs its own
TensorFlow import gets a real subprocess."""

from __future__ import annotations

import forked
import pytest
from conftest import run_broken

pytestmark = pytest.mark.requires_tf

CASE = """
[[case]]
id = "one"
layer = "lstm"
paths = ["manual_loop"]
devices = ["cpu"]
batch = 2
timesteps = 3
features = 2
units = 2
"""

BREAK = """
_call = K.layers.LSTMCell.call
def call(self, *args, **kwargs):
    out, states = _call(self, *args, **kwargs)
    return out * 2.0, states
K.layers.LSTMCell.call = call
"""


def test_a_breakage_stays_in_its_run(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    import tensorflow as tf

    before = tf.keras.layers.LSTMCell.call
    broken = run_broken(pytester, CASE, BREAK)
    assert "running (forked" in capsys.readouterr().out  # it did fork
    assert broken.ret == pytest.ExitCode.TESTS_FAILED, broken.stdout.str()
    broken.stdout.fnmatch_lines(["*[[]agreement[]]*"])
    (pytester.path / "conftest.py").unlink()
    clean = forked.runpytest(pytester, "-p", "no:cacheprovider")
    assert clean.ret == pytest.ExitCode.OK, clean.stdout.str()
    clean.assert_outcomes(passed=1)
    assert tf.keras.layers.LSTMCell.call is before


def test_a_hang_is_cut_off(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import time\ndef pytest_configure(config):\n    time.sleep(120)\n")
    with pytest.raises(pytester.TimeoutExpired):
        forked.runpytest(pytester, "-p", "no:cacheprovider", timeout=4)


def test_another_import_time_env_gets_a_subprocess(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """TensorFlow read TF_* when the server imported it: a run with other values needs its own import."""
    forked._server()  # started with this process's environment
    monkeypatch.setenv("TF_CONFORMANCE_FORK_PROBE", "1")
    pytester.makepyfile(
        test_env="import os\ndef test_env():\n    assert os.environ['TF_CONFORMANCE_FORK_PROBE']\n"
    )
    result = forked.runpytest(pytester, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    out = capsys.readouterr().out
    assert "running (forked" not in out and "running:" in out, out


def test_conformance_tests_subprocess_gives_every_run_a_subprocess(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The switch the README names for telling whether a failure is the fork's."""
    monkeypatch.setenv("CONFORMANCE_TESTS_SUBPROCESS", "1")
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    forked.runpytest(pytester, "-p", "no:cacheprovider").assert_outcomes(passed=1)
    out = capsys.readouterr().out
    assert "running (forked" not in out and "running:" in out, out
