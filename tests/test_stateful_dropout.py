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

# The GRU of cases/options.toml whose update gate is saturated at 1: it only carries h, so no dropout mask
# has anything to change and training=True must equal inference (expect.dropout_inert).
INERT = """
[[case]]
id = "inert"
layer = "gru"
batch = 3
timesteps = 5
features = 2
units = 2
devices = ["cpu"]
options = { dropout = 0.3, recurrent_dropout = 0.3, return_sequences = true, return_state = true }
initial_state = { kind = "random" }
expect = { dropout_inert = true, checks = ["agreement", "dropout"] }
[case.weights]
kind = "explicit"
kernel = [[0.3, -0.2, 0.1, 0.4, -0.3, 0.2], [-0.1, 0.2, 0.3, -0.4, 0.1, 0.3]]
recurrent_kernel = [[0.2, 0.1, -0.3, 0.1, 0.2, -0.1], [-0.2, 0.3, 0.1, 0.2, -0.1, 0.4]]
bias = [[30.0, 30.0, 0.1, -0.1, 0.2, -0.2], [0.0, 0.0, 0.1, 0.1, -0.1, 0.1]]
[[case.divergence]]
when = { flavour = ["keras3"], keras = "<3.8" }
differs = [{ check = "dropout", what = ["inert"] }]
reason = "Keras 3.0 to 3.7 drop the GRU's carried state (keras#20276)"
"""

# cases/options.toml's LSTM that carries nothing from step to step, over inputs the same at every step:
# with one input mask for the sequence, training=True gives the same output at every step
# (expect.dropout_mask). Keras 2's fused layer draws a new mask per step (keras#19993), declared.
MASK = """
[[case]]
id = "mask"
layer = "lstm"
batch = 3
timesteps = 5
features = 3
units = 2
devices = ["cpu"]
inputs = { kind = "constant", value = 0.5 }
options = { dropout = 0.5, return_sequences = true }
expect = { dropout_mask = "per_sequence", checks = ["agreement", "dropout"] }
[case.weights]
kind = "explicit"
kernel = [
    [0.3, -0.2, 0.1, 0.4, 0.9, -0.6, 0.2, -0.1],
    [-0.1, 0.2, 0.3, -0.4, -0.5, 0.7, 0.1, 0.3],
    [0.2, 0.1, -0.3, 0.2, 0.4, 0.8, -0.2, 0.1],
]
recurrent_kernel = [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
bias = [30.0, 30.0, -30.0, -30.0, 0.1, -0.1, 30.0, 30.0]
[[case.divergence]]
when = { flavour = ["keras2", "tf_keras"] }
paths = ["fused_layer"]
differs = [{ check = "dropout", what = ["mask_in_time"] }]
reason = "Keras 2's fused LSTM draws a new input mask at every step (keras#19993)"
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
    "dropout reaches the carried state (keras#20276's kind)": (
        INERT,
        """
        orig = K.layers.GRUCell.call
        def call(self, inputs, states, *a, training=None, **kw):
            if training:  # the state carried in is scaled, as a dropout mask on it would
                states = [s * 0.5 for s in states] if isinstance(states, (list, tuple)) else states * 0.5
            return orig(self, inputs, states, *a, training=training, **kw)
        K.layers.GRUCell.call = call
        """,
        ["*[[]dropout[]] training=True output vs the inference output, where the case's weights leave*"],
    ),
    "a new input dropout mask at every step (keras#19993's kind)": (
        MASK,
        """
        orig = K.layers.LSTMCell.call
        def call(self, inputs, states, *a, training=None, **kw):
            self.reset_dropout_mask()  # forget the sequence's mask: the next step draws its own
            return orig(self, inputs, states, *a, training=training, **kw)
        K.layers.LSTMCell.call = call
        """,
        ["*[[]dropout[]] training=True output at each step vs at step 0, over inputs the same at every*"],
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


@pytest.mark.parametrize(
    ("text", "items"),
    [(DROPOUT, 6), (STATEFUL, 4), (INERT, 3), (MASK, 3)],
    ids=["dropout", "stateful", "inert", "mask"],
)
def test_unbroken_keras_passes(pytester: pytest.Pytester, text: str, items: int) -> None:
    """The control: both checks pass on Keras as shipped, on every family and path listed (on Keras 2 the
    stateful victim is an xfail for its declared initial_state difference, which excuses nothing else)."""
    outcomes = run_broken(pytester, text).parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("xfailed", 0) == items and not outcomes.get("failed"), (
        outcomes
    )


def _mask_case(paths: str, **replace: str) -> str:
    """MASK without its declaration, on ``paths``, with text replaced (old=new pairs, in order)."""
    text = MASK.split("[[case.divergence]]")[0].replace(
        'devices = ["cpu"]', f'devices = ["cpu"]\npaths = {paths}'
    )
    for old, new in replace.values():
        text = text.replace(old, new)
    return text


def test_a_mask_per_step_is_what_per_step_asks_for(pytester: pytest.Pytester) -> None:
    """expect.dropout_mask = 'per_step' is the other side of the same observation: the cells, which reuse
    one mask, fail it."""
    text = _mask_case('["manual_loop", "rnn_wrapper"]', kind=('"per_sequence"', '"per_step"'))
    result = run_broken(pytester, text)
    assert result.parseoutcomes().get("failed") == 2, result.stdout.str()
    result.stdout.fnmatch_lines(["*[[]dropout[]] training=True output is the same at every step*'per_step'*"])


def test_weights_that_carry_state_cannot_show_the_mask(pytester: pytest.Pytester) -> None:
    """A recurrent kernel and a forget gate that keeps c make the output vary in time without dropout: the
    check says it cannot read the mask (finding 'stateless') instead of passing or blaming Keras."""
    zeros, halves = "[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]", "[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]"
    text = _mask_case('["rnn_wrapper"]', recurrent=(zeros, halves), forget=("-30.0, -30.0", "0.0, 0.0"))
    result = run_broken(pytester, text)
    assert result.parseoutcomes().get("failed") == 1, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*[[]dropout[]] cannot read the dropout mask: the inference output already varies*"]
    )
