"""Gradient reach on long sequences: break backpropagation through time in each family's fused layer —
truncated to the last 32 or 150 of 200 steps, or a state gradient that decays 1% per step, the forward
values untouched — and the gradient check fails naming the step where the gradient stops agreeing.

The breakage runs the fused layer over chunks of the sequence (one call per chunk, the state carried),
with the carried state passed through ``tf.stop_gradient`` (truncation) or an identity whose gradient is
scaled by 0.99 (decay): the forward computation is the layer's own, step for step.
"""

from __future__ import annotations

import sys

import pytest
from conftest import CASES, assert_breakage_reported, run_broken

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.requires_tf

FAMILIES = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}

CHUNKED = """
import tensorflow as tf

def chunked(cls, bounds, carry):
    orig = cls.__call__
    def call(self, inputs, *args, initial_state=None, **kwargs):
        if getattr(self, "_chunking", False) or inputs.shape[1] is None or inputs.shape[1] < 200:
            return orig(self, inputs, *args, initial_state=initial_state, **kwargs)
        self._chunking = True
        try:
            state = initial_state
            for start, end in bounds(inputs.shape[1]):
                out = orig(self, inputs[:, start:end], *args, initial_state=state, **kwargs)
                state = [carry(s) for s in out[1:]]
            return out
        finally:
            self._chunking = False
    cls.__call__ = call

@tf.custom_gradient
def decay(s):
    return tf.identity(s), lambda dy: dy * 0.99
"""

BREAKAGES = {
    "truncated to the last 32 steps": (
        "lambda t: [(0, t - 32), (t - 32, t)]",
        "tf.stop_gradient",
        "*agrees from step 199 back to step 168 (of 200, in the order backpropagation reaches them), then "
        "differs from step 167: is zero where the oracle's max |gradient| is *",
    ),
    "truncated to the last 150 steps": (
        "lambda t: [(0, t - 150), (t - 150, t)]",
        "tf.stop_gradient",
        "*agrees from step 199 back to step 50 (of 200, *), then differs from step 49: is zero where *",
    ),
    "state gradient decaying 1% per step": (
        "lambda t: [(i, i + 1) for i in range(t)]",
        "decay",
        "*agrees from step 199 back to step 199 (of 200, *), then differs from step 198: max |got| *",
    ),
}


def victim(case_id: str, file: str = "gradient_reach.toml") -> str:
    """One shipped case as a victim file: its fused layer only, eagerly."""
    data = tomllib.loads((CASES / file).read_text(encoding="utf-8"))
    (case,) = [c for c in data["case"] if c["id"] == case_id]
    merged = {
        **data.get("defaults", {}),
        **case,
        "id": "victim",
        "paths": ["fused_layer"],
        "modes": ["eager"],
    }
    lines = ["[[case]]"]
    for key, value in merged.items():
        if key in ("weights", "matrix"):
            continue
        lines.append(f"{key} = {_toml(value)}")
    if "weights" in merged:
        lines.append("[case.weights]")
        lines += [f"{k} = {_toml(v)}" for k, v in merged["weights"].items()]
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _patch(family: str, breakage: str) -> str:
    bounds, carry, _ = BREAKAGES[breakage]
    return CHUNKED + f"\nchunked(K.layers.{FAMILIES[family]}, {bounds}, {carry})\n"


@pytest.mark.parametrize("breakage", list(BREAKAGES))
@pytest.mark.parametrize("family", list(FAMILIES))
def test_broken_bptt_in_the_fused_layer_fails_naming_the_step(
    pytester: pytest.Pytester, family: str, breakage: str
) -> None:
    case = victim(f"{family.replace('_', '-')}-gradient-reach")
    result = run_broken(pytester, case, _patch(family, breakage), "--conformance-devices=cpu")
    assert_breakage_reported(
        result, ["*victim*fused_layer-call-eager-float32-cpu*", "*[[]gradient[]]*" + BREAKAGES[breakage][2]]
    )


@pytest.mark.parametrize("family", list(FAMILIES))
def test_unbroken_chunking_passes(pytester: pytest.Pytester, family: str) -> None:
    """The control: the same chunked call with the state carried as is passes (the patch alone is not
    what fails)."""
    case = victim(f"{family.replace('_', '-')}-gradient-reach")
    patch = (
        CHUNKED
        + f"\nchunked(K.layers.{FAMILIES[family]}, lambda t: [(0, t - 32), (t - 32, t)], tf.identity)\n"
    )
    run_broken(pytester, case, patch, "--conformance-devices=cpu").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("family", "case_id", "file"),
    [
        ("lstm", "lstm-long-sequence", "options.toml"),
        ("gru", "gru-long-sequence", "gru.toml"),
        ("simple_rnn", "simple-rnn-long-sequence", "simple_rnn.toml"),
    ],
)
def test_truncation_is_caught_where_the_gradient_vanishes_too(
    pytester: pytest.Pytester, family: str, case_id: str, file: str
) -> None:
    """On the shipped vanishing-gradient cases (1e-32 to 1e-85 at step 0), truncation to the last 32 steps
    passed every item before the per-step comparison; now it fails at step 167."""
    result = run_broken(
        pytester,
        victim(case_id, file),
        _patch(family, "truncated to the last 32 steps"),
        "--conformance-devices=cpu",
    )
    assert_breakage_reported(
        result,
        [
            "*[[]gradient[]] d loss / d inputs per time step vs oracle: agrees from step 199 back "
            "to step 168*then differs from step 167: is zero*"
        ],
    )
