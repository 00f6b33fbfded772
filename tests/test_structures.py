"""Stacked cells and Bidirectional: the composed references agree with Keras as shipped, and a broken
composition (a backward direction not reversed, a stack's states handed to the wrong cell, a merge done
wrong) fails an item with a message naming the check."""

from __future__ import annotations

import pytest
from conftest import assert_breakage_reported, run_broken

pytestmark = pytest.mark.requires_tf

BIDI = """
[[case]]
id = "bidi"
batch = 2
timesteps = 4
features = 3
units = 3
devices = ["cpu"]
paths = ["rnn_wrapper", "fused_layer"]
initial_state = { kind = "random" }
options = { return_sequences = true, return_state = true }
bidirectional = { merge_mode = "sum" }
[case.matrix]
layer = ["lstm", "gru", "simple_rnn"]
"""

STACK = """
[[case]]
id = "stack"
batch = 2
timesteps = 4
features = 3
units = 3
devices = ["cpu"]
paths = ["manual_loop", "rnn_wrapper"]
initial_state = { kind = "random" }
options = { return_sequences = true, return_state = true }
stack = 2
[case.matrix]
layer = ["lstm", "gru", "simple_rnn"]
"""

# name -> (case file, conftest body patching Keras, lines the report must contain)
BREAKAGES: dict[str, tuple[str, str, list[str]]] = {
    "Bidirectional returns its sequence time-reversed": (
        BIDI,
        """
        orig = K.layers.Bidirectional.call
        def call(self, *a, **kw):
            out = orig(self, *a, **kw)
            first = out[0] if isinstance(out, (list, tuple)) else out
            flipped = tf.reverse(first, [1])
            return [flipped, *out[1:]] if isinstance(out, (list, tuple)) else flipped
        K.layers.Bidirectional.call = call
        """,
        ["*bidi*rnn_wrapper*", "*[[]agreement[]] output of layer(x, initial_state=*) vs oracle*"],
    ),
    "Bidirectional output halved (a merge done as ave, not sum)": (
        BIDI,
        """
        orig = K.layers.Bidirectional.call
        def call(self, *a, **kw):
            out = orig(self, *a, **kw)
            first = out[0] if isinstance(out, (list, tuple)) else out
            return [first * 0.5, *out[1:]] if isinstance(out, (list, tuple)) else first * 0.5
        K.layers.Bidirectional.call = call
        """,
        ["*bidi*fused_layer*", "*[[]agreement[]]*vs oracle*elements differ*"],
    ),
    "StackedRNNCells hands the cells' states in reverse order": (
        STACK,
        """
        orig = K.layers.StackedRNNCells.call
        def call(self, inputs, states, *a, **kw):
            return orig(self, inputs, list(states)[::-1], *a, **kw)
        K.layers.StackedRNNCells.call = call
        """,
        ["*stack*manual_loop*", "*[[]agreement[]]*vs oracle*"],
    ),
}


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_breakage_is_reported(pytester: pytest.Pytester, name: str) -> None:
    text, patch, lines = BREAKAGES[name]
    assert_breakage_reported(run_broken(pytester, text, patch), lines)


@pytest.mark.parametrize("text", [BIDI, STACK], ids=["bidirectional", "stacked"])
def test_unbroken_keras_passes(pytester: pytest.Pytester, text: str) -> None:
    """The control: the composed references agree with Keras on every family and path listed."""
    run_broken(pytester, text).assert_outcomes(passed=6)
