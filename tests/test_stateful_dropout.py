"""The dropout and stateful checks: they pass on Keras as shipped and fail when the behaviour they guard
is broken on purpose (dropout not applied, a reset that does not reset, a state that is not carried)."""

from __future__ import annotations

import pytest
from conftest import assert_breakage_reported, run_broken

pytestmark = pytest.mark.requires_tf

DROPOUT = """
[[case]]
id = "drop"
batch = 3
timesteps = 5
features = 2
units = 4
devices = ["cpu"]
paths = ["manual_loop", "rnn_wrapper"]
options = { dropout = 0.4, recurrent_dropout = 0.4, return_sequences = true }
[case.matrix]
layer = ["lstm", "gru", "simple_rnn"]
"""

STATEFUL = """
[[case]]
id = "state"
batch = 3
timesteps = 6
features = 2
units = 4
devices = ["cpu"]
paths = ["rnn_wrapper", "fused_layer"]
options = { stateful = true, return_sequences = true }
[case.matrix]
layer = ["lstm", "gru"]

[[case.divergence]]
when = { flavour = ["keras2", "tf_keras"] }
differs = [{ check = "initial_state", what = ["own_layer.none_vs_zeros.*", "own_layer.custom.*"] }]
reason = "a Keras 2 stateful layer given initial_state= uses the state it holds (cases/options.toml)"
"""

# name -> (case file, conftest body patching Keras, lines the report must contain)
BREAKAGES: dict[str, tuple[str, str, list[str]]] = {
    "dropout ignored (training forced off in every cell)": (
        DROPOUT,
        """
        for cls in (K.layers.LSTMCell, K.layers.GRUCell, K.layers.SimpleRNNCell):
            def make(orig):
                def call(self, inputs, states, *a, training=None, **kw):
                    return orig(self, inputs, states, *a, training=False, **kw)
                return call
            cls.call = make(cls.call)
        """,
        ["*[[]dropout[]] training=True output equals the inference output*dropout was not applied*"],
    ),
    "keras.utils.set_random_seed does not seed": (
        DROPOUT,
        """
        K.utils.set_random_seed = lambda seed: None
        """,
        ["*[[]dropout[]] not reproducible: two training=True runs from set_random_seed(1234) differ*"],
    ),
    "reset_states keeps the carried state": (
        STATEFUL,
        """
        orig = K.layers.RNN.reset_states
        def reset_states(self, *a, **kw):
            # Keras 2 builds a stateful layer's state variables through reset_states: let that happen.
            if any(s is None for s in getattr(self, "states", [None]) or [None]):
                return orig(self, *a, **kw)
        K.layers.RNN.reset_states = reset_states
        """,
        ["*[[]stateful[]] after layer.reset_states(), layer.states[[]h[]] is not all zeros*"],
    ),
    "another batch size accepted by a stateful layer": (
        STATEFUL,
        """
        orig = K.layers.RNN.__call__
        def call(self, inputs, *a, **kw):
            if getattr(self, "stateful", False) and inputs.shape[0] != 3:
                inputs = inputs[:3]  # quietly drops the extra row instead of refusing the batch
            return orig(self, inputs, *a, **kw)
        K.layers.RNN.__call__ = call
        """,
        ["*[[]stateful[]] a stateful layer holding 3 rows accepted a batch of 4*"],
    ),
    "state not carried between calls": (
        STATEFUL,
        """
        orig = K.layers.RNN.__call__
        def call(self, *a, **kw):
            if getattr(self, "stateful", False):
                for s in self.states:
                    s.assign(tf.zeros_like(s))
            return orig(self, *a, **kw)
        K.layers.RNN.__call__ = call
        """,
        ["*[[]stateful[]] outputs of 2 calls on a stateful layer*elements differ*"],
    ),
}


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_breakage_is_reported(pytester: pytest.Pytester, name: str) -> None:
    text, patch, lines = BREAKAGES[name]
    assert_breakage_reported(run_broken(pytester, text, patch), lines)


@pytest.mark.parametrize(("text", "items"), [(DROPOUT, 6), (STATEFUL, 4)], ids=["dropout", "stateful"])
def test_unbroken_keras_passes(pytester: pytest.Pytester, text: str, items: int) -> None:
    """The control: both checks pass on Keras as shipped, on every family and path listed (on Keras 2 the
    stateful victim is an xfail for its declared initial_state difference, which excuses nothing else)."""
    outcomes = run_broken(pytester, text).parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("xfailed", 0) == items and not outcomes.get("failed"), (
        outcomes
    )
