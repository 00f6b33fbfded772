"""The kernel that ran is observed, not inferred: results and failure headers say what ran, and a case
with ``expect.kernel`` fails when the fused layer silently takes another kernel — with the numbers
unchanged, so no other check could see it."""

from __future__ import annotations

import json
from types import ModuleType

import forked
import pytest
from conftest import assert_breakage_reported, flavour, run_broken

pytestmark = pytest.mark.requires_tf

CASE = """
[[case]]
id = "victim"
layer = "{layer}"
batch = 2
timesteps = 4
features = 3
units = 4
paths = ["fused_layer"]
modes = ["eager", "function"]
devices = ["cpu"]
options = {{ return_state = true }}
expect = {{ kernel = "fused" }}
"""

# Keras 2: the layer decides it cannot use its fused kernel (as a wrong eligibility rule would) and runs
# the generic loop over its cell: the same numbers, a slower kernel.
KERAS2_FALLBACK = """
for cls in (K.layers.LSTM, K.layers.GRU):
    def make(orig):
        def __init__(self, *args, **kwargs):
            orig(self, *args, **kwargs)
            self._could_use_gpu_kernel = False
        return __init__
    cls.__init__ = make(cls.__init__)
"""
# Keras 3: the layer's loop is replaced by a Python loop over its cell that bypasses the backend: the same
# numbers, and no kernel the kit knows ran.
KERAS3_BYPASS = """
def inner_loop(self, sequences, initial_state, mask, training=False):
    states = list(initial_state)
    outputs = []
    for t in range(sequences.shape[1]):
        out, states = self.cell(sequences[:, t], states)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        outputs.append(out)
    return outputs[-1], tf.stack(outputs, axis=1), states
for cls in (K.layers.LSTM, K.layers.GRU):
    cls.inner_loop = inner_loop
"""


@pytest.mark.parametrize("layer", ["lstm", "gru"])
def test_a_silent_fallback_fails_the_kernel_check_alone(
    pytester: pytest.Pytester, tf: ModuleType, layer: str
) -> None:
    keras3 = flavour(tf) == "keras3"
    result = run_broken(
        pytester,
        CASE.format(layer=layer),
        KERAS3_BYPASS if keras3 else KERAS2_FALLBACK,
        "--conformance-devices=cpu",
    )
    expected = (
        "*[[]kernel[]] the generic loop over the cell was to run (expect.kernel = 'fused' on keras3 on the "
        "CPU), but not observed (no backend function called)* ran"
    )
    if not keras3:
        expected = (
            "*[[]kernel[]] Keras 2's fused CPU kernel (standard_lstm / standard_gru) was to run "
            "(expect.kernel = 'fused' on keras2 on the CPU), but generic RNN loop (backend rnn over the "
            "cell)* ran"
        )
    assert_breakage_reported(result, [expected, "  observed: *"])
    assert result.parseoutcomes()["failed"] == 2
    assert "[agreement]" not in result.stdout.str() and "[gradient]" not in result.stdout.str()


@pytest.mark.parametrize("layer", ["lstm", "gru"])
def test_unbroken_the_fused_kernel_is_observed(pytester: pytest.Pytester, tf: ModuleType, layer: str) -> None:
    pytester.makefile(".toml", victim=CASE.format(layer=layer))
    result = forked.runpytest(pytester, "-p", "no:cacheprovider", "--conformance-results", "r.json")
    result.assert_outcomes(passed=2)
    items = json.loads((pytester.path / "r.json").read_text())["items"]
    kinds = {i["mode"]: i["kernel_kind"] for i in items}
    want = "generic" if flavour(tf) == "keras3" else "fused_cpu"
    assert kinds == {"eager": want, "function": want}, items
    evidence = {i["mode"]: i["kernel_evidence"] for i in items}
    if flavour(tf) != "keras3":  # Keras's own runtime tensor: 1 = standard_lstm / standard_gru
        assert all("Keras runtime [1.0]" in e for e in evidence.values()), evidence
