"""Break an LSTM behaviour on purpose, as a real regression would, and see the suite point at it.

Each breakage is a small monkeypatch of the Keras under test, installed by a conftest in a pytester
directory and run in a subprocess (so no patch can leak into other tests). The case file is an ordinary
one; what is asserted is that items fail and that the message names the check and the numbers.
"""

from __future__ import annotations

import textwrap

import pytest

pytestmark = pytest.mark.requires_tf

CASE = """
[[case]]
id = "victim"
layer = "lstm"
batch = 2
timesteps = 4
features = 3
units = 4
dtypes = ["float32"]
options = { return_sequences = true, return_state = true }
initial_state = { kind = "random" }
"""

# Each entry: the body of a conftest that patches Keras, and the lines the failure report must contain.
BREAKAGES: dict[str, tuple[str, list[str]]] = {
    "cell numerics (output scaled)": (
        """
        orig = K.layers.LSTMCell.call
        def call(self, inputs, states, *a, **kw):
            h, new = orig(self, inputs, states, *a, **kw)
            return h * 1.01, new
        K.layers.LSTMCell.call = call
        """,
        [
            "*victim*manual_loop*",
            "*[[]agreement[]] output of *vs oracle:*elements differ*",
            "*max abs error*",
            "*first differing indices*",
        ],
    ),
    "gradient cut through the cell state": (
        """
        orig = K.layers.LSTMCell.call
        def call(self, inputs, states, *a, **kw):
            h, c = states[0], states[1]
            return orig(self, inputs, [h, tf.stop_gradient(c)], *a, **kw)
        K.layers.LSTMCell.call = call
        """,
        ["*[[]gradient[]] d loss / d *", "*tape.gradient*"],
    ),
    "initial_state ignored by the layers": (
        """
        for cls in (K.layers.RNN, K.layers.LSTM):
            def make(orig):
                def call(self, inputs, *a, initial_state=None, **kw):
                    return orig(self, inputs, *a, **kw)
                return call
            cls.__call__ = make(cls.__call__)
        """,
        ["*[[]initial_state[]] a custom initial_state was ignored*", "*[[]agreement[]]*"],
    ),
    "state returned in the wrong dtype": (
        """
        orig = K.layers.LSTMCell.call
        def call(self, inputs, states, *a, **kw):
            h, new = orig(self, inputs, states, *a, **kw)
            return h, [tf.cast(s, tf.float64) for s in new]
        K.layers.LSTMCell.call = call
        """,
        # Keras 3 lets the float64 state through (the dtype check names it); Keras 2's next matmul raises.
        ["*victim*manual_loop*", "*float64*"],
    ),
    "a time step dropped from the sequence": (
        """
        orig = K.layers.RNN.__call__
        def call(self, *a, **kw):
            out = orig(self, *a, **kw)
            return [out[0][:, :-1], *out[1:]] if isinstance(out, (list, tuple)) else out
        K.layers.RNN.__call__ = call
        """,
        ["*[[]shape[]] output.shape=(2, 3, 4), expected (2, 4, 4)*"],
    ),
    "fused layer only: output bias": (
        """
        orig = K.layers.LSTM.__call__
        def call(self, *a, **kw):
            out = orig(self, *a, **kw)
            return [out[0] + 1e-3, *out[1:]] if isinstance(out, (list, tuple)) else out + 1e-3
        K.layers.LSTM.__call__ = call
        """,
        [
            "*victim*fused_layer-float32-cpu*",
            "*[[]agreement[]] output of layer(x, initial_state=[[]h, c[]]) vs oracle*",
        ],
    ),
}


def _conftest(body: str) -> str:
    return "import tensorflow as tf\nK = tf.keras\n" + textwrap.dedent(body)


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_breakage_is_reported(pytester: pytest.Pytester, name: str) -> None:
    body, lines = BREAKAGES[name]
    pytester.makeconftest(_conftest(body))
    pytester.makefile(".toml", victim=CASE)
    result = pytester.runpytest_subprocess("--conformance-devices=cpu", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1, result.stdout.str()
    result.stdout.fnmatch_lines(lines)
    result.stdout.no_fnmatch_line("*Traceback*")


def test_unbroken_keras_passes(pytester: pytest.Pytester) -> None:
    """The control: the same case with nothing patched passes on every path."""
    pytester.makefile(".toml", victim=CASE)
    result = pytester.runpytest_subprocess("--conformance-devices=cpu", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_fused_only_breakage_spares_other_paths(pytester: pytest.Pytester) -> None:
    """A regression in one path fails that path's item alone: the report says which path is wrong."""
    pytester.makeconftest(_conftest(BREAKAGES["fused layer only: output bias"][0]))
    pytester.makefile(".toml", victim=CASE)
    result = pytester.runpytest_subprocess("--conformance-devices=cpu", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
