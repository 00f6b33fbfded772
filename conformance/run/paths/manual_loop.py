"""``manual_loop``: a Python loop calling ``Cell(x_t, states)``, states fed back by hand (the seed's
Example 1). Masking and go_backwards are applied by hand, as Keras does."""

from __future__ import annotations

from typing import Any

from conformance.families.structures import flatten
from conformance.run.paths.base import Runner
from conformance.run.tensors import Returned, returned


class ManualLoop(Runner):
    name = "manual_loop"

    def build(self) -> None:
        shape = (self.case.batch, self.case.features)
        self.step_returned: Returned | None = None
        self.cell, self.directions, self.owner = self.structure.loop_cells(
            self.new_cell, self.keras, self.record, shape
        )
        self.resolve_family(self.cell)
        if self.case.custom is not None:
            self.owner = self.cell

    def _loop(
        self,
        cell: Any,
        x: Any,
        states: list[Any],
        mask: Any,
        training: bool,
        backwards: bool,
        label: str = "cell",
    ) -> tuple[list[Any], list[Any]]:
        """The user's loop: go_backwards by iterating backwards, masking by ``tf.where`` as Keras does."""
        tf, opts = self.tf, self.case.options
        order = range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1])
        kwargs = {"training": True} if training else {}
        if training and hasattr(cell, "reset_dropout_mask"):  # a layer does this at each call; a loop by hand
            self.record(f"{label}.reset_dropout_mask(); {label}.reset_recurrent_dropout_mask()")
            cell.reset_dropout_mask()
            cell.reset_recurrent_dropout_mask()
        loop = "reversed(range(timesteps))" if backwards else "range(timesteps)"
        train = ", training=True" if training else ""
        self.record(
            f"for t in {loop}: output, states = {label}(x[:, t, :], {self.structure.loop_label()}{train})"
        )
        if mask is not None:
            keep = "zeros" if opts.zero_output_for_mask else "the previous output"
            self.record(f"  at masked steps (by hand, as Keras does): states kept, output = {keep}")
        outputs: list[Any] = []
        for t in order:
            result = cell(x[:, t, :], self.nested(states), **kwargs)
            new = result[1] if isinstance(result, (list, tuple)) else result
            known = all(d is not None for s in flatten(new) for d in s.shape)  # not a model's None batch
            if self.step_returned is None and known:
                self.step_returned = returned(new, symbolic=not tf.executing_eagerly())
            output, new_states = result
            new_states = flatten(new_states)
            if mask is not None:
                m = mask[:, t : t + 1]
                prev = outputs[-1] if outputs and not opts.zero_output_for_mask else tf.zeros_like(output)
                output = tf.where(m, output, prev)
                new_states = [tf.where(m, n, s) for n, s in zip(new_states, states)]
            states = new_states
            outputs.append(output)
        return outputs, states

    def _run(
        self, x: Any, initial_state: list[Any] | None, mask: Any, training: bool = False
    ) -> tuple[Any, Any, list[Any]]:
        """(output sequence as returned, last output, final flat states) of the loop(s)."""
        tf = self.tf
        states = initial_state
        if states is None:  # a loop has no "no state": start it from zeros in the dtype the cell computes in
            batch = x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]  # None: a symbolic model's
            sizes = [size for _, size in self.family.state_shapes(1, self.case.units)]
            states = [tf.zeros((batch, size), dtype=self.compute_dtype) for size in sizes]
        if self.case.mask is not None and self.case.mask.via == "masking_layer":
            self.record("mask = keras.layers.Masking(0.0).compute_mask(x)")
            mask = self.keras.layers.Masking(0.0).compute_mask(x)
        return self.structure.run_loop(  # type: ignore[no-any-return]
            self._loop,
            self.directions,
            x,
            states,
            mask,
            training,
            self.case.options.go_backwards,
            tf,
            self.record,
        )

    def call(self, x: Any, initial_state: list[Any] | None, mask: Any = None, training: bool = False) -> Any:
        sequence, last, states = self._run(x, initial_state, mask, training)
        return [sequence if self.case.options.return_sequences else last, *states]

    def split(self, value: Any) -> tuple[Any, list[Any] | None]:
        return value[0], list(value[1:])

    def probe(self, x: Any, initial_state: list[Any] | None, mask: Any = None) -> tuple[Any, list[Any]]:
        sequence, _, states = self._run(x, initial_state, mask)
        return sequence, states

    def layer_for_initial_state(self) -> Any:
        raise TypeError(
            "the manual loop has no layer: get_initial_state on = 'layer' needs rnn_wrapper or fused_layer"
        )
