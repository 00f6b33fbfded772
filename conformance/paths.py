"""The three ways people drive a recurrent cell, each run once per item with the case's weights.

* ``manual_loop``: a Python loop calling ``Cell(x_t, states)``, states fed back by hand;
* ``rnn_wrapper``: ``keras.layers.RNN(Cell(...))``;
* ``fused_layer``: ``keras.layers.LSTM(...)``, ``GRU``, ``SimpleRNN`` (cuDNN on GPU when eligible).

A :class:`Runner` builds its layer once, injects the case's weights, and answers the calls the checks
need, in the item's execution mode (eager, inside ``tf.function``, or compiled with XLA). Every Keras call
it makes is written to ``steps`` in the spelling a user would write, so a failure can say exactly which
call raised or returned the wrong thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conformance.case import Case
from conformance.data import DTYPE_ROLES, CaseData
from conformance.families import FAMILIES, Family, custom, load_object
from conformance.structure import compose, flatten
from conformance.tfenv import TFEnv


@dataclass
class Returned:
    """What one call returned, converted to NumPy, with the container and dtypes as Keras gave them."""

    container: str  # "tensor", "list", "tuple"
    arrays: list[np.ndarray]
    dtypes: list[str]
    tensors: list[Any] = field(repr=False, default_factory=list)


def _dtype_name(t: Any) -> str:
    d = getattr(t, "dtype", None)
    return getattr(d, "name", str(d))


def to_numpy(t: Any) -> np.ndarray:
    """float64 NumPy copy of a tensor (TF's bfloat16 arrives as an ml_dtypes array, which converts too)."""
    return np.asarray(t).astype(np.float64)


def returned(value: Any, *, symbolic: bool = False) -> Returned:
    """What a call returned (nested states flattened); ``symbolic`` (in a tf.function trace) keeps shapes."""
    items = flatten(value)
    container = type(value).__name__ if isinstance(value, (list, tuple)) else "tensor"
    arrays = [np.zeros(tuple(v.shape)) if symbolic else to_numpy(v) for v in items]
    return Returned(container, arrays, [_dtype_name(v) for v in items], items)


MODE_SPELLING = {
    "eager": "",
    "function": "tf.function",
    "xla": "tf.function(jit_compile=True)",
}


def _fmt_kwargs(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


class Runner:
    """One path for one item: builds once, then answers ``call`` and ``probe`` as often as checks need."""

    name = ""

    def __init__(self, env: TFEnv, case: Case, dtype: str, mode: str = "eager") -> None:
        self.env, self.case, self.dtype, self.mode = env, case, dtype, mode
        self.tf, self.keras = env.tf, env.keras
        # A custom cell's family is read off the built cell (see build); the data follows the family.
        self.structure = case.structure
        if case.custom is not None:
            self.family = Family("custom", case.custom.cell, case.custom.layer, ())
        else:
            self.base = FAMILIES[case.layer]
            self.family = compose(case.structure, self.base, case.features, case.units, case.options)
        self.data: CaseData
        self.feed_dtype, self.variable_dtype, self.compute_dtype = DTYPE_ROLES[dtype]
        self.steps: list[str] = []
        self.cell: Any = None
        self.owner: Any = None  # whose trainable_weights are the case's weights: the cell, or the layer
        self._compiled: dict[str, Any] = {}

    # -- helpers shared by the paths -------------------------------------------------------------
    def record(self, step: str) -> None:
        self._last = step  # the call being made, even when an earlier identical one is already listed
        if step not in self.steps:  # the checks repeat calls; a report lists each distinct call once
            self.steps.append(step)

    @property
    def last_call(self) -> str:
        return getattr(self, "_last", "(before any call)")

    def tensor(self, values: np.ndarray) -> Any:
        return self.tf.constant(
            np.asarray(values, dtype=np.float32 if self.feed_dtype == "bfloat16" else self.feed_dtype),
            dtype=self.feed_dtype,
        )

    def states(self, arrays: Sequence[np.ndarray]) -> list[Any]:
        return [self.tensor(a) for a in arrays]

    def mask_tensor(self, mask: np.ndarray | None) -> Any:
        """The case's mask as the layer gets it: a bool tensor for mask=, None where Masking makes it."""
        if mask is None or (self.case.mask is not None and self.case.mask.via == "masking_layer"):
            return None
        return self.tf.constant(mask)

    def in_mode(self, name: str, function: Any = None) -> Any:
        """``function`` (default ``self.<name>``) as the item's mode runs it: as is, in a tf.function, or
        XLA-compiled."""
        method = function or getattr(self, name)
        if self.mode == "eager":
            return method
        self.prepare(name)  # layers and variables are made eagerly: a traced function must not create them
        if name not in self._compiled:
            self.record(f"{name} = {MODE_SPELLING[self.mode]}({name})  # the calls below run compiled")
            self._compiled[name] = self.tf.function(method, jit_compile=self.mode == "xla")
        return self._compiled[name]

    def _class(self, spec: str) -> tuple[Any, str]:
        """A keras.layers class by name, or a user's class by ``module:Class`` (imported only now)."""
        if ":" in spec:
            return load_object(spec), spec.replace(":", ".")
        return getattr(self.keras.layers, spec), f"keras.layers.{spec}"

    def _new_cell(self) -> Any:
        if self.case.custom is not None:
            kwargs = {**self.case.custom.args, "dtype": self.dtype}
        else:
            kwargs = {**self.case.options.cell_kwargs(self.family.cell_options), "dtype": self.dtype}
        cls, shown = self._class(self.family.cell_class)
        self.record(f"cell = {shown}({self.case.units}, {_fmt_kwargs(kwargs)})")
        return cls(self.case.units, **kwargs)

    def resolve_family(self, cell: Any) -> None:
        """For a custom cell, read its states and weights off the built cell (built-ins are known)."""
        if self.case.custom is not None and not self.family.state_names:
            self.family = custom(self.case.custom.cell, self.case.custom.layer, cell)

    def variables(self, owner: Any) -> dict[str, Any]:
        """The weights by name: a built-in cell's by Keras attribute name; a composed layer's or a custom
        cell's in ``trainable_weights`` order (Keras keeps a stack's cells bottom-up, Bidirectional's
        forward layer first)."""
        if self.family.weights is not None:
            return dict(zip((n for n, _ in self.family.weights), owner.trainable_weights, strict=True))
        return {name: getattr(owner, name) for name in self.data.weights}

    def inject_weights(self, owner: Any) -> None:
        """Assign the case's weights to the variables (built with their own initializers first)."""
        for name, variable in self.variables(owner).items():
            values = self.data.weights[name]
            shown = (
                f"cell.{name}" if self.structure.kind == "single" else name
            )  # forward.kernel, cells[1].bias
            self.record(f"{shown}.assign(<case weights {values.shape}>)")
            variable.assign(self.tf.cast(self.tf.constant(values), variable.dtype))

    def weight_variables(self) -> dict[str, Any]:
        return self.variables(self.owner)

    def nested(self, states: list[Any] | None) -> list[Any] | None:
        """Flat states → as a Keras call takes them (per cell for a stack)."""
        if states is None:
            return None
        return self.structure.nest(states, self.base.n_states if self.case.custom is None else len(states))

    def merge(self, forward: Any, backward: Any) -> Any:
        """Bidirectional's merge of the two directions (``none``: side by side, the kit's view of a pair)."""
        tf, mode = self.tf, self.structure.merge_mode
        if mode in ("concat", "none"):
            return tf.concat([forward, backward], axis=-1)
        if mode == "sum":
            return forward + backward
        if mode == "mul":
            return forward * backward
        return (forward + backward) / 2

    def get_initial_state(self, x: Any) -> Any:
        """Call get_initial_state exactly as the case spells it; placeholders filled in."""
        spec = self.case.initial_state
        fill = {"{batch}": self.case.batch, "{dtype}": self.compute_dtype, "{inputs}": x}
        kwargs = {k: fill.get(v, v) if isinstance(v, str) else v for k, v in spec.args.items()}
        shown = {k: ("x" if v is x else v) for k, v in kwargs.items()}
        owner = self.cell if spec.on == "cell" else self.layer_for_initial_state()
        self.record(f"{'cell' if spec.on == 'cell' else 'layer'}.get_initial_state({_fmt_kwargs(shown)})")
        return owner.get_initial_state(**kwargs)

    def layer_for_initial_state(self) -> Any:
        raise NotImplementedError

    # -- what each path provides -----------------------------------------------------------------
    def build(self) -> None:
        raise NotImplementedError

    def prepare(self, name: str) -> None:
        """Make what ``self.<name>`` needs besides the built layer (the layer paths' probe layer)."""

    def call(self, x: Any, initial_state: list[Any] | None, mask: Any = None, training: bool = False) -> Any:
        """The call under test, configured as the case says (return_sequences, return_state, ...)."""
        raise NotImplementedError

    def probe(self, x: Any, initial_state: list[Any] | None, mask: Any = None) -> tuple[Any, list[Any]]:
        """(output sequence, final states) with the same weights, whatever the case's options."""
        raise NotImplementedError

    def kernel(self, device: str) -> str:
        raise NotImplementedError

    # A stateful layer (layer paths; a case with stateful = true has no manual loop).
    def reset_states(self) -> None:
        raise NotImplementedError

    def carry(self, x: Any, mask: Any) -> Any:
        raise NotImplementedError

    def held_states(self) -> list[np.ndarray]:
        raise NotImplementedError

    def split(self, value: Any) -> tuple[Any, list[Any] | None]:
        """(output, flat states or None) from what ``call`` returned."""
        pair = self.structure.kind == "bidirectional" and self.structure.merge_mode == "none"
        if pair and isinstance(value, (list, tuple)) and len(value) >= 2:  # [forward, backward, *states]
            states = flatten(value[2:]) if self.case.options.return_state else None
            return self.merge(value[0], value[1]), states
        if self.case.options.return_state and isinstance(value, (list, tuple)):
            return value[0], flatten(value[1:])
        return value, None  # a missing state list is the shape check's finding


class ManualLoop(Runner):
    """A Python loop over the cell: the seed's Example 1."""

    name = "manual_loop"

    def build(self) -> None:
        shape = (self.case.batch, self.case.features)
        self.step_returned: Returned | None = None
        if self.structure.kind == "stacked":
            cells = [self._new_cell() for _ in range(self.structure.cells)]
            self.record(f"cell = keras.layers.StackedRNNCells([{', '.join(['cell'] * len(cells))}])")
            self.cell = self.keras.layers.StackedRNNCells(cells)
        else:
            self.cell = self._new_cell()
        self.record(f"cell.build({shape})")
        self.cell.build(shape)
        self.owner, self.directions = self.cell, [self.cell]
        if self.structure.kind == "bidirectional":  # a second cell runs the backward loop
            backward = self._new_cell()
            self.record(f"backward_cell.build({shape})")
            backward.build(shape)
            self.directions = [self.cell, backward]
            self.owner = _Weights([self.cell, backward])
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
        nested = "[[h, ...] per cell]" if self.structure.kind == "stacked" else "states"
        self.record(f"for t in {loop}: output, states = {label}(x[:, t, :], {nested}{train})")
        if mask is not None:
            keep = "zeros" if opts.zero_output_for_mask else "the previous output"
            self.record(f"  at masked steps (by hand, as Keras does): states kept, output = {keep}")
        outputs: list[Any] = []
        for t in order:
            result = cell(x[:, t, :], self.nested(states), **kwargs)
            if self.step_returned is None:
                new = result[1] if isinstance(result, (list, tuple)) else result
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
            shapes = self.family.state_shapes(int(x.shape[0]), self.case.units)
            states = [tf.zeros(shape, dtype=self.compute_dtype) for shape in shapes]
        if self.case.mask is not None and self.case.mask.via == "masking_layer":
            self.record("mask = keras.layers.Masking(0.0).compute_mask(x)")
            mask = self.keras.layers.Masking(0.0).compute_mask(x)
        if self.structure.kind != "bidirectional":
            outputs, states = self._loop(self.cell, x, states, mask, training, self.case.options.go_backwards)
            return tf.stack(outputs, axis=1), outputs[-1], states
        half = len(states) // 2
        forward, f_states = self._loop(self.directions[0], x, states[:half], mask, training, False)
        backward, b_states = self._loop(
            self.directions[1], x, states[half:], mask, training, True, "backward_cell"
        )
        self.record(
            f"output = merge({self.structure.merge_mode}) of the forward outputs and the backward ones "
            "reversed back to input time (last output: each loop's last)"
        )
        sequence = self.merge(tf.stack(forward, axis=1), tf.reverse(tf.stack(backward, axis=1), [1]))
        if mask is not None:  # Bidirectional forces zero_output_for_mask on a returned sequence
            self.record(
                "  a returned sequence is zero at masked steps (Bidirectional's zero_output_for_mask)"
            )
            sequence = tf.where(mask[:, :, None], sequence, tf.zeros_like(sequence))
        return sequence, self.merge(forward[-1], backward[-1]), [*f_states, *b_states]

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

    def kernel(self, device: str) -> str:
        return f"python loop over {self.family.cell_class}.call" + _traced(self.mode)


class _LayerRunner(Runner):
    """The two layer paths share building, calling and the probe layer."""

    def _new_layer(self, **layer_kwargs: Any) -> Any:
        raise NotImplementedError

    def build(self) -> None:
        self.layer = self._new_layer(**self.case.options.layer_kwargs())
        shape = (self.case.batch, self.case.timesteps, self.case.features)
        self.record(f"layer.build({shape})")
        self.layer.build(shape)
        self.cell = getattr(self.layer, "cell", None)
        self.owner = self.cell if self.structure.kind == "single" else self.layer
        self.resolve_family(self.cell)
        self._probe_layer: Any = None

    def _wrap(self, layer: Any) -> Any:
        """The layer as the case composes it: as is, or inside keras.layers.Bidirectional."""
        if self.structure.kind != "bidirectional":
            return layer
        mode = self.structure.merge_mode
        self.record(
            f"layer = keras.layers.Bidirectional(layer, merge_mode={None if mode == 'none' else mode!r})"
        )
        return self.keras.layers.Bidirectional(layer, merge_mode=None if mode == "none" else mode)

    def _invoke(
        self,
        layer: Any,
        x: Any,
        initial_state: list[Any] | None,
        mask: Any,
        label: str,
        training: bool = False,
    ) -> Any:
        kwargs: dict[str, Any] = {}
        shown = ["x"]
        if self.case.mask is not None and self.case.mask.via == "masking_layer":
            x = self.keras.layers.Masking(0.0)(x)
            shown = ["keras.layers.Masking(0.0)(x)"]
        elif mask is not None:
            kwargs["mask"] = mask
            shown.append("mask=mask")
        if initial_state is not None:
            kwargs["initial_state"] = self.nested(initial_state)
            names = self.nested(list(self.family.state_names)) or []
            shown.append(f"initial_state={names!r}".replace("'", ""))
        if training:
            kwargs["training"] = True
            shown.append("training=True")
        self.record(f"{label}({', '.join(shown)})")
        return layer(x, **kwargs)

    def call(self, x: Any, initial_state: list[Any] | None, mask: Any = None, training: bool = False) -> Any:
        return self._invoke(self.layer, x, initial_state, mask, "layer", training)

    def prepare(self, name: str) -> None:
        if name == "probe" and self._probe_layer is None:
            kwargs = {**self.case.options.layer_kwargs(), "return_sequences": True, "return_state": True}
            kwargs.pop("stateful", None)  # the probes compare runs from given states, each on its own
            self._probe_layer = self._new_layer(**kwargs)
            self._probe_layer.build((self.case.batch, self.case.timesteps, self.case.features))
            self.inject_weights(
                self._probe_layer.cell if self.structure.kind == "single" else self._probe_layer
            )

    def probe(self, x: Any, initial_state: list[Any] | None, mask: Any = None) -> tuple[Any, list[Any]]:
        self.prepare("probe")
        result = list(self._invoke(self._probe_layer, x, initial_state, mask, "probe"))
        if self.structure.kind == "bidirectional" and self.structure.merge_mode == "none":
            return self.merge(result[0], result[1]), flatten(result[2:])
        return result[0], flatten(result[1:])

    def layer_for_initial_state(self) -> Any:
        return self.layer

    # -- a stateful layer: calls that carry the state, and the reset ---------------------------------
    def reset_states(self) -> None:
        self.record("layer.reset_states()")
        self.layer.reset_states()

    def carry(self, x: Any, mask: Any) -> Any:
        """A stateful call: no initial_state, the layer's own carried state."""
        return self._invoke(self.layer, x, None, mask, "layer")

    def held_states(self) -> list[np.ndarray]:
        self.record("[s.numpy() for s in layer.states]")
        return [to_numpy(s) for s in self.layer.states]


class RNNWrapper(_LayerRunner):
    name = "rnn_wrapper"

    def _new_layer(self, **layer_kwargs: Any) -> Any:
        kwargs = {**layer_kwargs, "dtype": self.dtype}
        if self.structure.kind == "stacked":
            cells = [self._new_cell() for _ in range(self.structure.cells)]
            self.record(
                f"layer = keras.layers.RNN([{', '.join(['cell'] * len(cells))}], {_fmt_kwargs(kwargs)})"
            )
            return self.keras.layers.RNN(cells, **kwargs)
        cell = self._new_cell()
        self.record(f"layer = keras.layers.RNN(cell, {_fmt_kwargs(kwargs)})")
        return self._wrap(self.keras.layers.RNN(cell, **kwargs))

    def kernel(self, device: str) -> str:
        return GENERIC + _traced(self.mode)


class FusedLayer(_LayerRunner):
    name = "fused_layer"

    def _new_layer(self, **layer_kwargs: Any) -> Any:
        if self.case.custom is not None:
            own = dict(self.case.custom.args)
        else:
            own = self.case.options.cell_kwargs(self.family.cell_options)
        kwargs = {**own, **layer_kwargs, "dtype": self.dtype}
        cls, shown = self._class(str(self.family.layer_class))
        self.record(f"layer = {shown}({self.case.units}, {_fmt_kwargs(kwargs)})")
        return self._wrap(cls(self.case.units, **kwargs))

    def kernel(self, device: str) -> str:
        """Which kernel ran, inferred from the layer's own eligibility flags and the device.

        Keras 3 tries cuDNN only on GPU (``use_cudnn``, LSTM and GRU) and otherwise runs the generic loop;
        Keras 2 and tf-keras run their own fused CPU kernel (standard_lstm, standard_gru) when the layer is
        cuDNN-eligible (``_could_use_gpu_kernel``), the generic loop if not. SimpleRNN has neither.
        """
        if self.case.custom is not None:
            return f"custom layer {self.family.layer_class}"
        fused = self.family.keras2_kernel
        if self.env.flavour == "keras3":
            eligible = (
                fused is not None
                and getattr(getattr(self.layer, "forward_layer", self.layer), "use_cudnn", "auto")
                in ("auto", True)
                and self._cudnn_options()
            )
            return "cudnn" if device == "gpu" and eligible else GENERIC + _traced(self.mode)
        flags = getattr(self.layer, "forward_layer", self.layer)  # Bidirectional: its forward layer's
        if fused is None or not getattr(flags, "_could_use_gpu_kernel", False):
            return GENERIC + _traced(self.mode)
        return "cudnn" if device == "gpu" else f"{fused} (Keras 2 fused CPU kernel)" + _traced(self.mode)

    def _cudnn_options(self) -> bool:
        """Keras 3's own rule (``lstm.py``/``gru.py`` ``cudnn_ok``): defaults that cuDNN implements."""
        o = self.case.options
        return (
            o.activation == "tanh"
            and o.recurrent_activation == "sigmoid"
            and o.use_bias
            and not o.unroll
            and not o.recurrent_dropout
            and (self.family.name != "gru" or o.reset_after)
        )


GENERIC = "generic RNN loop (backend rnn over the cell)"


def _traced(mode: str) -> str:
    return "" if mode == "eager" else f", in {MODE_SPELLING[mode]}"


class _Weights:
    """Two cells' weights as one list: the manual loop's forward and backward cells, in Keras's order."""

    def __init__(self, cells: list[Any]) -> None:
        self.trainable_weights = [w for cell in cells for w in cell.trainable_weights]


RUNNERS: dict[str, type[Runner]] = {r.name: r for r in (ManualLoop, RNNWrapper, FusedLayer)}
