"""``[bidirectional]``: keras.layers.Bidirectional around the layer; the manual loop runs a forward and a
backward loop and merges them as Bidirectional does."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from conformance.errors import CaseFileError
from conformance.families.structures.base import (
    Forward,
    Log,
    Structure,
    cot_sequence,
    flatten,
    loss_terms,
)
from conformance.oracle.types import Gradients, Trace

if TYPE_CHECKING:
    from conformance.casefile.case import Case, Options

MERGE_MODES = ("concat", "sum", "mul", "ave", "none")


class _Weights:
    """Two cells' weights as one list: the manual loop's forward and backward cells, in Keras's order."""

    def __init__(self, cells: list[Any]) -> None:
        self.trainable_weights = [w for cell in cells for w in cell.trainable_weights]


@dataclass(frozen=True)
class Bidirectional(Structure):
    key: ClassVar[str] = "bidirectional"
    kind: ClassVar[str] = "bidirectional"
    refused_options: ClassVar[tuple[str, ...]] = ("stateful", "go_backwards", "zero_output_for_mask")
    chunkable: ClassVar[bool] = False  # a backward direction does not chunk forwards
    named_per_slot: ClassVar[bool] = True
    merge_mode: str = "concat"

    @classmethod
    def from_case(cls, raw: Mapping[str, Any]) -> Bidirectional:
        return cls(merge_mode=raw["bidirectional"].get("merge_mode", "concat"))

    @property
    def pair_outputs(self) -> bool:  # type: ignore[override]
        return self.merge_mode == "none"

    def validate(self, raw: Mapping[str, Any], options: Options, paths: Sequence[str]) -> None:
        if raw.get("initial_state", {}).get("kind") == "get_initial_state":
            raise CaseFileError(
                "Bidirectional has no get_initial_state of its own (each direction's layer has one): use "
                "kind 'none', 'zeros', 'random' or 'explicit'",
                key="initial_state.kind",
            )
        super().validate(raw, options, paths)

    def refusal(self, option: str) -> str:
        # Bidirectional sets its layers' zero_output_for_mask to return_sequences itself: a case's own
        # value would be overridden, so it is refused rather than silently ignored.
        if option == "zero_output_for_mask":
            return "Bidirectional sets its layers' zero_output_for_mask to return_sequences itself"
        return super().refusal(option)

    @property
    def slots(self) -> tuple[str, ...]:
        return ("forward.", "backward.")

    def __str__(self) -> str:
        return f"Bidirectional, merge_mode={self.merge_mode}"

    def output_units(self, units: int) -> int:
        return 2 * units if self.merge_mode in ("concat", "none") else units

    def step_state_shapes(self, shapes: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return shapes[: len(shapes) // 2]  # each direction's cell steps its own states

    def merge(self, concat: Callable[[list[Any]], Any], forward: Any, backward: Any) -> Any:
        """``none`` is compared side by side: the kit's view of the pair is their concatenation."""
        if self.merge_mode in ("concat", "none"):
            return concat([forward, backward])
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        return (forward + backward) / 2

    # -- the oracle ---------------------------------------------------------------------------------
    # The forward run, and the backward run (go_backwards) reversed back to input time, merged; the last
    # output merges each run's last step. Bidirectional sets its layers' zero_output_for_mask to their
    # return_sequences (keras bidirectional.py), so a returned sequence has zeros at masked steps while the
    # last output carries. Gradients: the merge's cotangent split per direction (concat: halves; sum:
    # both; ave: halves of it; mul: times the other direction).
    def _runs(self, oracle: Any, data: Any, start: tuple[np.ndarray, ...], options: dict[str, Any]) -> Any:
        n = len(start) // 2
        out = []
        for i, slot in enumerate(self.slots):
            weights = {k[len(slot) :]: v for k, v in data.weights.items() if k.startswith(slot)}
            opts = {**options, "go_backwards": i == 1, "zero_output_for_mask": False}
            out.append((tuple(start[i * n : (i + 1) * n]), weights, opts))
        return out

    def reference(
        self, oracle: Any, case: Case, data: Any, options: dict[str, Any]
    ) -> tuple[Forward, Callable[[], Gradients]]:
        def concat(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts, axis=-1)

        def forward(state: tuple[np.ndarray, ...]) -> Trace:
            f, b = (
                oracle.forward(data.inputs, s, w, **o) for s, w, o in self._runs(oracle, data, state, options)
            )
            sequence = self.merge(concat, f.sequence, b.sequence[:, ::-1])
            if data.mask is not None:  # Bidirectional's forced zero_output_for_mask on returned sequences
                sequence = np.where(data.mask[:, :, None], sequence, 0.0)
            return Trace(
                sequence,
                (*f.states, *b.states),
                last=self.merge(concat, f.sequence[:, -1], b.sequence[:, -1]),
            )

        def gradients() -> Gradients:
            start, cot_states = loss_terms(case, data)
            runs = self._runs(oracle, data, start, options)
            f, b = (oracle.forward(data.inputs, s, w, **o) for s, w, o in runs)
            u = case.units
            merged = cot_sequence(case, data, self.output_units(u))
            b_aligned = b.sequence[:, ::-1]  # backward outputs in input time
            if not case.options.return_sequences:  # the last output merges each run's own last step
                b_aligned = np.zeros_like(b.sequence)
                b_aligned[:, -1] = b.sequence[:, -1]
            if self.merge_mode in ("concat", "none"):
                cf, cb = merged[..., :u], merged[..., u:]
            elif self.merge_mode == "sum":
                cf, cb = merged, merged
            elif self.merge_mode == "ave":
                cf, cb = merged / 2, merged / 2
            else:  # mul
                cf, cb = merged * b_aligned, merged * f.sequence
            # cb is in input time, except for the last-output case where it already sits at the backward
            # run's last step; the backward run wants it in its processing order.
            cb_processing = cb[:, ::-1] if case.options.return_sequences else cb
            zero = {"zero_output_for_mask": case.options.return_sequences}  # as Bidirectional forces it
            n = len(start) // 2
            grads = [
                oracle.gradients(
                    data.inputs,
                    s,
                    w,
                    cot_sequence=cot,
                    cot_states=tuple(cot_states[i * n : (i + 1) * n]),
                    **{**o, **zero},
                )
                for i, ((s, w, o), cot) in enumerate(zip(runs, (cf, cb_processing)))
            ]
            weights: dict[str, np.ndarray] = {}
            for slot, g in zip(self.slots, grads):
                weights.update({slot + k: v for k, v in g.weights.items()})
            return Gradients(
                grads[0].inputs + grads[1].inputs,
                (*grads[0].initial_state, *grads[1].initial_state),
                weights,
            )

        return forward, gradients

    # -- Keras --------------------------------------------------------------------------------------
    def loop_cells(self, new_cell: Callable[[], Any], keras: Any, log: Log, shape: tuple[int, int]) -> Any:
        cell = new_cell()
        log(f"cell.build({shape})")
        cell.build(shape)
        backward = new_cell()  # a second cell runs the backward loop
        log(f"backward_cell.build({shape})")
        backward.build(shape)
        return cell, [cell, backward], _Weights([cell, backward])

    def run_loop(
        self,
        loop: Callable[..., tuple[list[Any], list[Any]]],
        directions: list[Any],
        x: Any,
        states: list[Any],
        mask: Any,
        training: bool,
        go_backwards: bool,
        tf: Any,
        log: Log,
    ) -> tuple[Any, Any, list[Any]]:
        half = len(states) // 2
        forward, f_states = loop(directions[0], x, states[:half], mask, training, False)
        backward, b_states = loop(directions[1], x, states[half:], mask, training, True, "backward_cell")
        log(
            f"output = merge({self.merge_mode}) of the forward outputs and the backward ones "
            "reversed back to input time (last output: each loop's last)"
        )

        def concat(parts: list[Any]) -> Any:
            return tf.concat(parts, axis=-1)

        sequence = self.merge(concat, tf.stack(forward, axis=1), tf.reverse(tf.stack(backward, axis=1), [1]))
        if mask is not None:  # Bidirectional forces zero_output_for_mask on a returned sequence
            log("  a returned sequence is zero at masked steps (Bidirectional's zero_output_for_mask)")
            sequence = tf.where(mask[:, :, None], sequence, tf.zeros_like(sequence))
        return sequence, self.merge(concat, forward[-1], backward[-1]), [*f_states, *b_states]

    def wrap(self, layer: Any, keras: Any, log: Log) -> Any:
        mode = None if self.merge_mode == "none" else self.merge_mode
        log(f"layer = keras.layers.Bidirectional(layer, merge_mode={mode!r})")
        return keras.layers.Bidirectional(layer, merge_mode=mode)

    def split(self, value: Any, return_state: bool, concat: Callable[[list[Any]], Any]) -> tuple[Any, Any]:
        if self.pair_outputs and isinstance(value, (list, tuple)) and len(value) >= 2:
            states = flatten(value[2:]) if return_state else None  # [forward, backward, *states]
            return self.merge(concat, value[0], value[1]), states
        return super().split(value, return_state, concat)
