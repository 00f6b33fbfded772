"""One rule splits a sequence in two, for every check that chunks (initial_state's two-chunk probe and the
stateful check): the first call processes ``max(t // 2, 1)`` steps, in processing order, go_backwards or
not. (They once disagreed: 2+3 for the stateful check and 3+2 for the probe on five steps backwards.)"""

from __future__ import annotations

import pytest

from conformance.run.probes import chunks


@pytest.mark.parametrize("timesteps", range(1, 9))
@pytest.mark.parametrize("go_backwards", [False, True])
def test_chunks_cover_the_sequence_once_in_processing_order(timesteps: int, go_backwards: bool) -> None:
    split = chunks(timesteps, go_backwards)
    steps = list(range(timesteps))
    first, second = steps[split.first], steps[split.second]
    assert len(first) == split.first_len == max(timesteps // 2, 1)
    assert len(second) == split.second_len == timesteps - split.first_len
    processed = (first[::-1] + second[::-1]) if go_backwards else (first + second)
    assert processed == (steps[::-1] if go_backwards else steps)  # each step once, in the order processed


def test_five_steps_split_two_then_three_both_ways() -> None:
    forward, backward = chunks(5, False), chunks(5, True)
    assert (forward.first_len, forward.second_len) == (backward.first_len, backward.second_len) == (2, 3)
    assert (forward.first, forward.second) == (slice(None, 2), slice(2, None))
    assert (backward.first, backward.second) == (slice(3, None), slice(None, 3))


@pytest.mark.requires_tf
def test_the_probe_and_the_stateful_check_say_the_same_split(pytester: pytest.Pytester) -> None:
    """A failing two-chunk probe names the split; a broken carry shows the same 2-then-3 split."""
    from conftest import run_broken

    case = """
[[case]]
id = "split"
batch = 2
timesteps = 5
features = 3
units = 4
paths = ["rnn_wrapper"]
initial_state = { kind = "random" }
options = { go_backwards = true, return_sequences = true, return_state = true }
"""
    patch = """
    orig = K.layers.RNN.__call__
    def call(self, inputs, *a, initial_state=None, **kw):
        if initial_state is not None and inputs.shape[1] == 3:  # the second chunk forgets the state
            initial_state = [tf.zeros_like(s) for s in tf.nest.flatten(initial_state)]
        return orig(self, inputs, *a, initial_state=initial_state, **kw)
    K.layers.RNN.__call__ = call
    """
    result = run_broken(pytester, case, patch, "--conformance-devices=cpu")
    result.stdout.fnmatch_lines(["*outputs of two chunks (2 steps, then 3, in processing order*"])
