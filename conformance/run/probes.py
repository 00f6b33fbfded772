"""The calls some checks add to the main one, by definition, as typed values.

* initial-state probes: no state vs zeros, a custom state, the case's own state, two chunks carrying the
  state (:class:`Probes`);
* the dropout check's two seeded ``training=True`` runs (:class:`DropoutRuns`);
* a stateful layer's reset, carried calls and batch-size rule (:class:`StatefulRuns`).

A probe that raises is the finding of its check alone (:class:`Raised`); the other checks still report.
The sequence is split in two the same way everywhere (:func:`chunks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from conformance.run.tensors import to_numpy

if TYPE_CHECKING:
    from conformance.run.contexts.base import Context
    from conformance.run.paths.base import Runner

DROPOUT_SEED = 1234


@dataclass(frozen=True)
class Raised:
    """A probe call that raised: the call (as logged) and the exception."""

    call: str
    error: BaseException

    @property
    def summary(self) -> str:
        """``ValueError: <the message's first line>``, and the cause where a traced function's error puts it
        after a stack and Keras's call arguments ("in user code: ... Input 'b' of 'MatMul' Op has ...")."""
        lines = [line.strip() for line in str(self.error).strip().splitlines() if line.strip()]
        text = f"{type(self.error).__name__}: {lines[0] if lines else ''}"
        cause = [x for x in lines[1:] if not x.startswith(("•", "Call arguments received", "File "))]
        return text + (f" ... {cause[-1]}" if cause else "")

    def __str__(self) -> str:
        return f"{self.call} raised {self.summary}"


@dataclass(frozen=True)
class Chunks:
    """The sequence in two calls, in processing order: ``first`` then ``second`` (input-time slices)."""

    first: slice
    second: slice
    first_len: int
    timesteps: int

    @property
    def second_len(self) -> int:
        return self.timesteps - self.first_len


def chunks(timesteps: int, go_backwards: bool) -> Chunks:
    """Split ``timesteps`` in two: the first call processes ``max(t // 2, 1)`` steps, the second the rest.

    With go_backwards the later input steps are processed first, so the first call gets the *last*
    ``first_len`` input steps. One rule for every check that chunks (initial_state, stateful).
    """
    half = max(timesteps // 2, 1)
    if go_backwards:
        return Chunks(slice(timesteps - half, None), slice(None, timesteps - half), half, timesteps)
    return Chunks(slice(None, half), slice(half, None), half, timesteps)


SeqStates = tuple[np.ndarray, list[np.ndarray]]


@dataclass(frozen=True)
class Chunked:
    """Two calls, the state carried: their output sequences side by side and the final states."""

    sequence: np.ndarray
    states: list[np.ndarray]
    split: Chunks
    keep: np.ndarray | None  # the mask in processing order (outputs compared where it keeps steps)


@dataclass
class Probes:
    """What the initial-state check (and ``values``, for final states not returned) needs."""

    as_case: SeqStates | None = None  # the case's own initial state
    none: SeqStates | None = None  # no initial_state (layer paths: a loop has no "no state")
    zeros: SeqStates | None = None
    custom: SeqStates | None = None  # a seeded non-zero state
    chunked: Chunked | None = None
    # The case's own layer (configured as the case says, not the probe layer's forced return flags), from
    # zeros (only where the main call had no state: what it is compared with) and from the custom state:
    # (output as configured, returned states). Layer paths only.
    own_zeros: SeqStates | None = None
    own_custom: SeqStates | None = None
    error: Raised | None = None


@dataclass
class DropoutRuns:
    runs: tuple[np.ndarray, ...] = ()
    seed: int = DROPOUT_SEED
    error: Raised | None = None


@dataclass
class StatefulRuns:
    reset: list[np.ndarray] = field(default_factory=list)  # layer.states after reset_states()
    chunks: list[np.ndarray] = field(default_factory=list)  # the outputs of the carried calls
    carried: list[np.ndarray] = field(default_factory=list)  # layer.states after them
    again: np.ndarray | None = None  # output after another reset and one call over the whole sequence
    again_states: list[np.ndarray] = field(default_factory=list)
    other_batch: str | None = ""  # the refusal of another batch size ("" not tried; None: it was accepted)
    error: Raised | None = None


# initial_state kind -> the probe that makes the identical call: "random" feeds data.custom_state itself,
# "zeros" the same zeros in the feed dtype, "none" no state (a layer path's "none" probe; the manual loop
# makes none, so it probes the case's call itself).
_SAME_PROBE = {"random": "custom", "zeros": "zeros", "none": "none"}


def initial_state_probes(r: Runner, x: Any, init: list[Any] | None, mask: Any) -> Probes:
    """Extra calls on the same layer: none vs zeros, a custom state, the state carried over two chunks."""
    data, t = r.data, r.case.timesteps
    out = Probes()
    call = r.in_mode("probe")

    def probe(inputs: Any, state: list[Any] | None) -> SeqStates:
        seq, states = call(inputs, state, mask)
        return to_numpy(seq), [to_numpy(s) for s in states]

    # The case's own initial state is, for most kinds, one of the states probed anyway (the same numbers in
    # the same dtype): that call is made once and its result used for both.
    same = _SAME_PROBE.get(r.case.initial_state.kind)
    try:
        if same is None:
            out.as_case = probe(x, init)
        if r.name != "manual_loop":  # the loop has no "no state": it starts from zeros by construction
            out.none = probe(x, None)
        out.zeros = probe(x, r.states(data.zero_state()))
        custom = r.states(data.custom_state)
        out.custom = probe(x, custom)
        if same is not None:
            out.as_case = getattr(out, same) or probe(x, init)
        if t >= 2 and r.structure.chunkable:
            out.chunked = _two_chunks(r, call, x, custom, mask)
        if r.name != "manual_loop":
            if r.case.initial_state.kind == "none":  # what the main call, made with no state, must equal
                out.own_zeros = _own_layer(r, x, r.states(data.zero_state()), mask)
            out.own_custom = _own_layer(r, x, custom, mask)
    except Exception as exc:  # a finding of the initial-state check alone; the other checks still report
        out.error = Raised(r.last_call, exc)
    return out


def _own_layer(r: Runner, x: Any, state: list[Any], mask: Any) -> SeqStates:
    """The case's own layer called with ``state``: its output as configured, and the states it returns."""
    output, states = r.split(r.in_mode("call")(x, state, mask))
    return to_numpy(output), [to_numpy(s) for s in states or []]


def _two_chunks(r: Runner, call: Any, x: Any, state: list[Any], mask: Any) -> Chunked:
    go_backwards = r.case.options.go_backwards
    split = chunks(r.case.timesteps, go_backwards)
    part = (lambda s: None) if mask is None else (lambda s: mask[:, s])
    first_seq, first_states = call(x[:, split.first, :], state, part(split.first))
    second_seq, second_states = call(x[:, split.second, :], list(first_states), part(split.second))
    # Masked steps at the start of the second chunk output zeros, not the first chunk's last output
    # (Keras's rule: "In the case T = 0, a zero filled tensor will be used"): outputs are compared at the
    # steps the mask keeps, in processing order.
    keep = None if r.data.mask is None else r.data.mask[:, ::-1] if go_backwards else r.data.mask
    return Chunked(
        np.concatenate([to_numpy(first_seq), to_numpy(second_seq)], axis=1),
        [to_numpy(s) for s in second_states],
        split,
        keep,
    )


def dropout_runs(r: Runner, x: Any, init: list[Any] | None, mask: Any) -> DropoutRuns:
    """Two training=True runs, each from ``keras.utils.set_random_seed`` and a freshly built layer.

    Reproducibility is what a user can rely on: the same seed and the same program give the same masks.
    (Keras 3 layers draw from their own seed generator, made when the layer is built, so reseeding an
    existing layer is not enough; a fresh build is the honest comparison on both flavours.)
    """
    outputs = []
    try:
        for _ in range(2):
            r.env.keras.utils.set_random_seed(DROPOUT_SEED)
            twin = r.twin()
            output, _ = twin.split(twin.in_mode("call")(x, init, mask, True))
            outputs.append(to_numpy(output))
        call = next(s for s in twin.steps if "training=True" in s)
        r.record(f"keras.utils.set_random_seed({DROPOUT_SEED}); <build as above>; {call}  # twice")
    except Exception as exc:  # a finding of the dropout check alone
        return DropoutRuns(error=Raised(r.last_call, exc))
    return DropoutRuns(tuple(outputs))


def stateful_runs(r: Context, x: Any, mask: Any) -> StatefulRuns:
    """A stateful layer: reset, two chunks with the state carried, the held states; reset again, one call;
    then another batch size, which must be refused."""
    out = StatefulRuns()
    t = r.case.timesteps
    split = chunks(t, r.case.options.go_backwards)
    carry = r.in_mode("carry")
    part = (lambda s: None) if mask is None else (lambda s: mask[:, s])

    def first(value: Any) -> np.ndarray:
        return to_numpy(value[0] if isinstance(value, (list, tuple)) else value)

    try:
        r.reset_states()
        out.reset = r.held_states()
        calls = [carry(x[:, split.first, :], part(split.first))]
        if t >= 2:
            calls.append(carry(x[:, split.second, :], part(split.second)))
        out.chunks = [first(c) for c in calls]
        out.carried = r.held_states()
        r.reset_states()
        out.again = first(carry(x, mask))
        out.again_states = r.held_states()
    except Exception as exc:
        out.error = Raised(r.last_call, exc)
        return out
    # Keras's batch-size rule: the carried state has `batch` rows, so another batch size is refused.
    bigger = r.tf.concat([x, x[:1]], axis=0)
    r.record(f"layer(<x with batch {r.case.batch + 1}>)  # must raise: the layer holds {r.case.batch} rows")
    try:
        r.in_mode("carry")(bigger, None if mask is None else r.tf.concat([mask, mask[:1]], axis=0))
        out.other_batch = None
    except Exception as exc:  # the expected outcome
        out.other_batch = Raised(r.last_call, exc).summary
    return out
