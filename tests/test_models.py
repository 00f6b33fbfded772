"""The layer inside a model: break what a model adds — the symbolic build, the optimizer, the mask's way
through the graph, a Sequential's weights — and the model context's items fail, naming the check and the
weight or output; the layer alone (context ``call``) is untouched by them. Each fault is a patch of the
Keras under test in a subprocess."""

from __future__ import annotations

from types import ModuleType

import pytest
from conftest import assert_breakage_reported, flavour, run_broken

pytestmark = pytest.mark.requires_tf

CPU = "--conformance-devices=cpu"

VICTIM = """
[[case]]
id = "victim"
layer = "lstm"
batch = 3
timesteps = 5
features = 3
units = 4
paths = ["fused_layer"]
contexts = ["call", "functional", "sequential"]
mask = {{ lengths = [5, 3, 1], via = "masking_layer" }}
options = {{ return_sequences = false }}
expect = {{ checks = ["shape", "agreement", "symbolic", "predict", "train_step"{extra}] }}
"""

BREAKAGES: dict[str, tuple[str, list[str], dict[str, int]]] = {
    "compute_output_shape lies": (
        """
        orig = K.layers.LSTM.compute_output_shape
        def compute_output_shape(self, *a, **kw):
            shape = orig(self, *a, **kw)
            return (*tuple(shape)[:-1], 5)
        K.layers.LSTM.compute_output_shape = compute_output_shape
        """,
        # Keras 2 builds the symbolic graph by calling the layer, so only compute_output_shape lies; Keras 3
        # uses compute_output_shape while building the model, and the build itself raises (a finding too).
        [
            "KERAS2:*[[]symbolic[]] output: symbolic shape (None, 4), but "
            "layer.compute_output_shape says (None, 5)*",
            "KERAS3:*model = keras.Sequential(*) raised TypeError: Exception encountered when "
            "calling LSTM.call()*",
        ],
        {"failed": 2, "passed": 1},
    ),
    "the optimizer applies the bias gradient with the wrong sign": (
        """
        orig = K.optimizers.SGD.apply_gradients
        def apply_gradients(self, grads_and_vars, *a, **kw):
            flipped = [(-g if "bias" in v.name else g, v) for g, v in grads_and_vars]
            return orig(self, flipped, *a, **kw)
        K.optimizers.SGD.apply_gradients = apply_gradients
        """,
        [
            "*[[]train_step[]] train_on_batch (jit_compile=*): the step on bias, read as the "
            "gradient it applied*",
            "*[[]train_step[]] fit (jit_compile=*): the step on bias*",
        ],
        {"failed": 2, "passed": 1},
    ),
    "the functional graph drops the Masking layer's mask": (
        """
        IN_MODEL = [0]
        orig_model_call = K.Model.__call__
        def model_call(self, *a, **kw):
            IN_MODEL[0] += 1
            try:
                return orig_model_call(self, *a, **kw)
            finally:
                IN_MODEL[0] -= 1
        K.Model.__call__ = model_call
        orig = K.layers.LSTM.__call__
        def call(self, inputs, *a, **kw):
            if IN_MODEL[0] and type(inputs).__name__ != "KerasTensor":  # running the graph, not building it
                kw.pop("mask", None)
                inputs = tf.identity(inputs)  # a new tensor: the mask no longer travels with it
            return orig(self, inputs, *a, **kw)
        K.layers.LSTM.__call__ = call
        """,
        [
            "*[[]agreement[]] output of model(x) vs oracle: * elements differ*",
            "*[[]predict[]] output of model.predict*",
        ],
        {"failed": 2, "passed": 1},
    ),
    "a Sequential reorders its layers' weights when it is built": (
        """
        orig = K.Sequential.__init__
        def __init__(self, *a, **kw):
            orig(self, *a, **kw)
            for layer in self.layers:
                for w in layer.weights:
                    if len(w.shape) == 2:
                        w.assign(tf.reverse(w, axis=[1]))  # the gate blocks in the wrong order
        K.Sequential.__init__ = __init__
        """,
        [
            "*victim*fused_layer-sequential*",
            "*[[]agreement[]] output of model(x) vs oracle: * elements differ*",
        ],
        {"failed": 1, "passed": 2},
    ),
}


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_a_model_breakage_fails_the_model_items(pytester: pytest.Pytester, tf: ModuleType, name: str) -> None:
    body, lines, outcomes = BREAKAGES[name]
    mine = "KERAS3:" if flavour(tf) == "keras3" else "KERAS2:"
    lines = [
        line.removeprefix(mine)
        for line in lines
        if not line.startswith(("KERAS2:", "KERAS3:")) or line.startswith(mine)
    ]
    result = run_broken(pytester, VICTIM.format(extra=""), body, CPU)
    assert_breakage_reported(result, lines)
    result.assert_outcomes(**outcomes)
    result.stdout.no_fnmatch_line("FAILED *victim*-call-*")  # the layer alone is not what broke


def test_unbroken_every_context_passes(pytester: pytest.Pytester) -> None:
    run_broken(pytester, VICTIM.format(extra=""), "", CPU).assert_outcomes(passed=3)
